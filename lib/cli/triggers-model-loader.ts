import * as fs from 'node:fs';
import Module from 'node:module';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors';
import { loadTypeScript } from '../migrations/load-typescript';
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
  const ts = loadTypeScript(`--models ${filename}, a TypeScript module,`);
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, inlineSourceMap: true },
  });
  m._compile(out.outputText, filename);
}

type ResolveFilename = (request: string, parent: unknown, isMain: boolean, options?: unknown) => string;
const moduleInternals = Module as unknown as { _resolveFilename: ResolveFilename };
// The JavaScript name a TypeScript file is imported by under NodeNext (`./models.js` for models.ts).
const JS_FOR_TS: Record<string, string> = { '.js': '.ts', '.cjs': '.cts' };

/**
 * Resolution while a models module loads: `./models.js` finds `models.ts`
 * (TypeScript's NodeNext style, which tsc requires), and `knex-concurrency`,
 * where the module's folder has no copy installed, is the copy running this
 * command (as for migrations), so its model classes are the ones checked.
 */
function resolveFilename(original: ResolveFilename): ResolveFilename {
  return function (this: unknown, request, parent, isMain, options) {
    try {
      return original.call(this, request, parent, isMain, options);
    } catch (err) {
      const ts = JS_FOR_TS[path.extname(request)];
      if (ts !== undefined && (request.startsWith('./') || request.startsWith('../'))) {
        try {
          return original.call(this, request.slice(0, -path.extname(request).length) + ts, parent, isMain, options);
        } catch {
          // fall through to the original error
        }
      }
      if (request === 'knex-concurrency') return require.resolve('../index');
      throw err;
    }
  };
}

async function loadModule(file: string): Promise<Record<string, unknown>> {
  const ext = path.extname(file);
  if (ext === '.mjs') return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  if (ext === '.mts') throw new UsageError(`--models ${file}: .mts modules are not supported; use .ts, .js, .cjs or .mjs`);
  const previous = TS_EXTENSIONS.map((e) => extensions[e]);
  const resolve = moduleInternals._resolveFilename;
  for (const e of TS_EXTENSIONS) extensions[e] = compileTypeScript;
  moduleInternals._resolveFilename = resolveFilename(resolve);
  try {
    return require(file) as Record<string, unknown>;
  } finally {
    moduleInternals._resolveFilename = resolve;
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
