import { expect } from 'chai';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '..', '..');
const FILE = path.join(ROOT, 'spec', 'types', 'mistakes.ts');
const DIRECTIVE = /^\s*\/\/ @ts-expect-error\b.*$/;

/** Compiles spec/types/mistakes.ts with the project's options; `strip` removes the @ts-expect-error lines first. */
function errorLines(strip = true): { lines: number[]; expected: number[]; messages: string[] } {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const original = ts.sys.readFile(FILE)!;
  const expected: number[] = [];
  const kept: string[] = [];
  for (const line of original.split('\n')) {
    if (strip && DIRECTIVE.test(line)) {
      expected.push(kept.length + 1); // the next line, in the stripped file
      continue;
    }
    kept.push(line);
  }
  const host = ts.createCompilerHost(config.options);
  const readFile = host.readFile.bind(host);
  host.readFile = (name) => (path.resolve(name) === FILE ? kept.join('\n') : readFile(name));
  const program = ts.createProgram({ rootNames: [FILE], options: { ...config.options, noEmit: true }, host });
  const diagnostics = ts.getPreEmitDiagnostics(program).filter((d) => d.file && path.resolve(d.file.fileName) === FILE);
  const lines = [...new Set(diagnostics.map((d) => d.file!.getLineAndCharacterOfPosition(d.start!).line + 1))].sort((a, b) => a - b);
  return { lines, expected, messages: diagnostics.map((d) => `${d.file!.getLineAndCharacterOfPosition(d.start!).line + 1}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`) };
}

describe('types that catch mistakes (spec/types/mistakes.ts)', function () {
  this.timeout(120_000);

  // That the correct uses compile and every marked line is an error is checked by the build itself
  // (tsc fails on an unused @ts-expect-error), which npm test runs first.
  it('with the directives removed, exactly the marked lines fail: each mistake is caught, nothing else is', () => {
    const { lines, expected, messages } = errorLines();
    expect(expected.length).to.be.at.least(15);
    expect(lines, messages.join('\n')).to.deep.equal(expected);
  });
});
