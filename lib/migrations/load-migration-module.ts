import type { Knex } from 'knex';
import { loadModule, ModuleLoadError } from './load-module';
import { MigrationLoadError } from './migration-errors';

/**
 * Evaluates a migration file (see `loadModule`, which loads `--models` the
 * same way) and returns its `up` and `down`. A syntax error, a module that
 * throws, or one without the two functions is a `MigrationLoadError`.
 */
export function loadMigrationModule(name: string, file: string, source: string): Knex.Migration {
  let exported: Partial<Knex.Migration>;
  try {
    exported = loadModule(file, 'a migration written in TypeScript (or with import/export)', source) as Partial<Knex.Migration>;
  } catch (err) {
    if (err instanceof ModuleLoadError) throw new MigrationLoadError(name, err.message, { cause: err.cause });
    throw err;
  }
  if (typeof exported.up !== 'function' || typeof exported.down !== 'function') {
    throw new MigrationLoadError(name, 'a migration must export two functions, `export async function up(knex)` and `export async function down(knex)`');
  }
  return exported as Knex.Migration;
}
