import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import type * as TypeScript from 'typescript';
import { UsageError } from '../errors';

// The package's own name, as migrations and models modules import it.
const SELF = 'knex-concurrency';
// CommonJS by name: never transpiled.
const AS_IS = new Set(['.cjs']);
const TYPESCRIPT = new Set(['.ts', '.mts', '.cts']);
// The JavaScript name a TypeScript file is imported by under NodeNext (`./models.js` for models.ts).
const TS_FOR_JS: Record<string, string> = { '.js': '.ts', '.mjs': '.mts', '.cjs': '.cts' };

let typescript: typeof TypeScript | undefined;

/** Why a module could not be loaded: `syntax` before any of it ran, `evaluation` when running it threw (the error is the `cause`). */
export class ModuleLoadError extends Error {
  override readonly name = 'ModuleLoadError';

  constructor(
    readonly kind: 'syntax' | 'evaluation',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The TypeScript compiler, loaded on first use: only reading a TypeScript
 * (or `import`/`export`) module needs it, and it is large. It is an optional
 * peer dependency (the application's own copy, not a second one), so its
 * absence is named with the command that fixes it.
 */
function loadTypeScript(purpose: string): typeof TypeScript {
  if (typescript !== undefined) return typescript;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    typescript = require('typescript') as typeof TypeScript;
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    throw new UsageError(`${purpose} needs the typescript package, which is not installed: npm install --save-dev typescript (or write it in JavaScript)`, { cause: err });
  }
  return typescript;
}

/** `source` as CommonJS: syntax only, no type checking, no tsconfig needed. */
function transpile(file: string, source: string, purpose: string): string {
  const ts = loadTypeScript(purpose);
  const out = ts.transpileModule(source, {
    // A `.mts` name would keep import/export (an ES module); the code is run as CommonJS.
    fileName: path.extname(file) === '.mts' ? `${file.slice(0, -4)}.ts` : file,
    reportDiagnostics: true,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
  });
  const syntax = out.diagnostics?.find((d) => d.category === ts.DiagnosticCategory.Error);
  if (syntax) {
    const where = syntax.file && syntax.start !== undefined ? syntax.file.getLineAndCharacterOfPosition(syntax.start) : undefined;
    const at = where ? ` (line ${where.line + 1}, column ${where.character + 1})` : '';
    throw new ModuleLoadError('syntax', `${ts.flattenDiagnosticMessageText(syntax.messageText, '\n')}${at}`);
  }
  return out.outputText;
}

/** One load: each TypeScript file it reaches is evaluated once, so imports share (and cycles see) one module. */
class Load {
  readonly #modules = new Map<string, { exports: Record<string, unknown> }>();

  constructor(readonly purpose: string) {}

  evaluate(file: string, source: string): Record<string, unknown> {
    const known = this.#modules.get(file);
    if (known !== undefined) return known.exports;
    const module = { exports: {} as Record<string, unknown> };
    this.#modules.set(file, module);
    const evaluate = this.#compile(file, source);
    try {
      evaluate.call(module.exports, module.exports, this.#requireFor(file), module, file, path.dirname(file));
    } catch (err) {
      if (err instanceof ModuleLoadError || err instanceof UsageError) throw err;
      throw new ModuleLoadError('evaluation', err instanceof Error ? err.message : String(err), { cause: err });
    }
    return module.exports;
  }

  /**
   * The module as a function of CommonJS's five. JavaScript that is already
   * CommonJS runs as it is, without the compiler; only TypeScript and
   * `import`/`export` (a syntax error in a function body) are transpiled.
   */
  #compile(file: string, source: string): Function {
    const compile = (code: string): Function => vm.compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
    const ext = path.extname(file);
    if (!TYPESCRIPT.has(ext)) {
      try {
        return compile(source);
      } catch (err) {
        if (AS_IS.has(ext) || !(err instanceof SyntaxError)) throw new ModuleLoadError('syntax', err instanceof Error ? err.message : String(err), { cause: err });
      }
    }
    const code = transpile(file, source, this.purpose);
    try {
      return compile(code);
    } catch (err) {
      throw new ModuleLoadError('syntax', err instanceof Error ? err.message : String(err), { cause: err });
    }
  }

  /**
   * The module's own `require`, rooted at its file, so that nothing global
   * (no require hook) changes for the rest of the process. A TypeScript file
   * it imports (`./models.js` finds `models.ts`, as NodeNext has it) is
   * compiled by this load too. `knex-concurrency`, where the module's folder
   * has no copy installed, is the copy that is running, so that its model
   * classes and helpers are the ones the command uses.
   */
  #requireFor(file: string): NodeJS.Require {
    const base = createRequire(file);
    const req = ((id: string): unknown => {
      if (id === SELF) {
        try {
          base.resolve(id);
        } catch {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          return require('../index');
        }
      }
      const local = id.startsWith('./') || id.startsWith('../') ? typeScriptFile(base, id) : undefined;
      return local === undefined ? base(id) : this.evaluate(local, fs.readFileSync(local, 'utf8'));
    }) as NodeJS.Require;
    return Object.assign(req, { resolve: base.resolve, cache: base.cache, main: base.main, extensions: base.extensions });
  }
}

/** The TypeScript file a relative import names, or `undefined` for one Node loads itself. */
function typeScriptFile(base: NodeJS.Require, id: string): string | undefined {
  let resolved: string | undefined;
  try {
    resolved = base.resolve(id);
  } catch {
    const ext = path.extname(id);
    const candidates = TS_FOR_JS[ext] !== undefined ? [id.slice(0, -ext.length) + TS_FOR_JS[ext]] : [...TYPESCRIPT].map((e) => id + e);
    for (const candidate of candidates) {
      try {
        resolved = base.resolve(candidate);
        break;
      } catch {
        // try the next
      }
    }
  }
  return resolved !== undefined && TYPESCRIPT.has(path.extname(resolved)) ? resolved : undefined;
}

/**
 * Evaluates a migration or models module, TypeScript or JavaScript, as a
 * CommonJS module and returns its exports. It is the one loader of
 * `bin/migrate`: migrations and `--models` load alike.
 *
 * `.ts`, `.mts`, `.cts`, and JavaScript written with `import`/`export`
 * (`.js`, `.mjs`), are transpiled with `typescript.transpileModule`;
 * CommonJS JavaScript runs as it is. Each call evaluates afresh from `source` (what a migration
 * was checksummed from), never from Node's module cache. Throws
 * `ModuleLoadError` for a syntax error or a module that throws, and
 * `UsageError` when TypeScript is needed but not installed.
 *
 * @param purpose names the module in the message about a missing `typescript` package.
 */
export function loadModule(file: string, purpose: string, source: string = fs.readFileSync(file, 'utf8')): Record<string, unknown> {
  return new Load(purpose).evaluate(path.resolve(file), source);
}
