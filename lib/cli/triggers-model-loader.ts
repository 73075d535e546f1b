import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors';
import { Model } from '../model';

type ModelClassValue = abstract new () => Model;

interface CompilableModule {
  _compile(code: string, filename: string): void;
}

const extensions = (Module as unknown as { _extensions: Record<string, (m: CompilableModule, filename: string) => void> })._extensions;
const TS_EXTENSIONS = ['.ts', '.cts'];

/**
 * Compiles TypeScript on `require` with `typescript.transpileModule` (types
 * are not checked: that is the build's job), so a models module and the
 * TypeScript files it imports load without a build step.
 */
function compileTypeScript(m: CompilableModule, filename: string): void {
  // Loaded only when a TypeScript module is, since the compiler is large.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const ts = require('typescript') as typeof import('typescript');
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
  });
  m._compile(out.outputText, filename);
}

async function loadModule(file: string): Promise<Record<string, unknown>> {
  const ext = path.extname(file);
  if (ext === '.mjs') return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  if (ext === '.mts') throw new UsageError(`--models ${file}: .mts modules are not supported; use .ts, .js, .cjs or .mjs`);
  if (!TS_EXTENSIONS.includes(ext)) return require(file) as Record<string, unknown>;
  const previous = TS_EXTENSIONS.map((e) => extensions[e]);
  for (const e of TS_EXTENSIONS) extensions[e] = compileTypeScript;
  try {
    return require(file) as Record<string, unknown>;
  } finally {
    TS_EXTENSIONS.forEach((e, i) => {
      if (previous[i] === undefined) delete extensions[e];
      else extensions[e] = previous[i]!;
    });
  }
}

const isModelClass = (value: unknown): value is ModelClassValue => typeof value === 'function' && value.prototype instanceof Model;

/**
 * The model classes a module exports: its named exports, and the values of
 * an exported object of models (`export default { Product, Order }`).
 * Relative paths are resolved against `cwd`.
 */
export async function loadModels(specifier: string, cwd: string): Promise<ModelClassValue[]> {
  const file = path.resolve(cwd, specifier);
  if (!fs.existsSync(file)) throw new UsageError(`--models ${specifier}: no such file (looked for ${file})`);
  const exports = await loadModule(file);
  const found = new Set<ModelClassValue>();
  for (const value of Object.values(exports)) {
    if (isModelClass(value)) found.add(value);
    else if (value !== null && typeof value === 'object') for (const inner of Object.values(value)) if (isModelClass(inner)) found.add(inner);
  }
  if (found.size === 0) {
    throw new UsageError(
      `--models ${specifier}: no model classes among its exports (${Object.keys(exports).join(', ') || 'none'}); export your Model subclasses, ` +
        `and make sure the module imports the same knex-concurrency as the command`,
    );
  }
  return [...found];
}
