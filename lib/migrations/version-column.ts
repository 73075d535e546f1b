import type { Knex } from 'knex';
import { adapterForKnex } from '../dialects/adapter-for';

/**
 * Adds a version column to a table definition in a migration: `bigint not
 * null`, defaulting to the database clock in microseconds. The model writes
 * the initial version on insert; the default covers rows inserted by other
 * writers, so that they too start from the clock (a row deleted and inserted
 * again never starts at a version an old copy of it holds). On MySQL and
 * MariaDB it defaults to 0 (Knex's renameColumn() there cannot carry an
 * expression default), and so does a column added to an existing table
 * (SQLite's ALTER TABLE refuses a non-constant default; PostgreSQL's would
 * rewrite the whole table under an exclusive lock): rows inserted by other
 * SQL there start at 0, below every version the library writes.
 *
 * @example
 * ```ts
 * export async function up(knex: Knex) {
 *   await knex.schema.createTable('products', (t) => {
 *     t.increments('id');
 *     t.string('name', 100).notNullable();
 *     addVersionColumn(t);
 *   });
 * }
 * ```
 */
export function addVersionColumn(table: Knex.CreateTableBuilder | Knex.AlterTableBuilder, name = 'version'): Knex.ColumnBuilder {
  // Knex hands the builder its client (and whether it alters a table), the only way to the dialect here.
  const { client, _method } = table as unknown as { client: Knex.Client; _method?: string };
  const clock = adapterForKnex({ client } as unknown as Knex).clockVersionDefault(_method === 'alter');
  const column = table.bigInteger(name).notNullable();
  return clock === undefined ? column.defaultTo(0) : column.defaultTo(client.raw(clock) as unknown as Knex.Raw);
}
