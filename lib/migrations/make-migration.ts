import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { UsageError } from '../errors';

/** `20250131093000`: Knex's prefix, so files sort in creation order. */
function timestamp(now: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
}

/** The template: a table with a version column, ready for optimistic locking. */
function template(table: string): string {
  return `import type { Knex } from 'knex';
import { addVersionColumn } from 'knex-concurrency';

// Runs in a transaction where the database allows it. To run without one
// (PostgreSQL CREATE INDEX CONCURRENTLY), add:
// export const config = { transaction: false };

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('${table}', (t) => {
    t.increments('id');
    // t.string('name', 100).notNullable();
    addVersionColumn(t);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('${table}');
}
`;
}

/** `<timestamp>_<name>.ts`, after checking that `name` is usable in a file name. */
export function migrationFileName(name: string, now: Date): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
    throw new UsageError(`make: "${name}" is not a usable migration name; use letters, digits, _ and -, such as create_products`);
  }
  return `${timestamp(now)}_${name}.ts`;
}

/**
 * Writes a new TypeScript migration, `<timestamp>_<name>.ts`, into
 * `directory` (created if needed) and returns its path. A name like
 * `create_products` makes a template for table `products`.
 */
export async function makeMigration(directory: string, name: string, now = new Date()): Promise<string> {
  const base = migrationFileName(name, now);
  const table = /^create_(.+)$/.exec(name)?.[1] ?? name;
  await fs.mkdir(directory, { recursive: true });
  const file = path.join(path.resolve(directory), base);
  try {
    await fs.writeFile(file, template(table), { flag: 'wx' });
  } catch (err) {
    if ((err as { code?: string }).code === 'EEXIST') throw new UsageError(`make: ${file} already exists`);
    throw err;
  }
  return file;
}
