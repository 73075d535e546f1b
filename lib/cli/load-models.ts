import * as fs from 'node:fs';
import * as path from 'node:path';
import { UsageError } from '../errors';
import { loadModule, ModuleLoadError } from '../migrations/load-module';
import { Model } from '../model';

type ModelClassValue = abstract new () => Model;

const isModelClass = (value: unknown): value is ModelClassValue => typeof value === 'function' && value.prototype instanceof Model;

/**
 * The model classes a module exports (loaded by `loadModule`, as migrations are): its named exports, and the values of
 * an exported object of models (`export default { Product, Order }`).
 * Relative paths are resolved against `cwd`.
 */
export async function loadModels(specifier: string, cwd: string): Promise<ModelClassValue[]> {
  const file = path.resolve(cwd, specifier);
  if (!fs.existsSync(file)) throw new UsageError(`--models ${specifier}: no such file (looked for ${file})`);
  let exports: Record<string, unknown>;
  try {
    exports = loadModule(file, `--models ${specifier}`);
  } catch (err) {
    if (!(err instanceof ModuleLoadError)) throw err;
    // A syntax error is the command line's to fix; a module that throws fails as it would on its own.
    if (err.kind === 'syntax') throw new UsageError(`--models ${specifier}: ${err.message}`, { cause: err });
    throw err.cause;
  }
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
