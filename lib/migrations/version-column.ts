import type { Knex } from 'knex';
import { adapterForKnex } from '../dialects/adapter-for';

/**
 * Adds a version column to a table definition in a migration: `bigint not
 * null`, defaulting to the database clock in microseconds. The model writes
 * the initial version on insert; the default covers rows inserted by other
 * writers, so that they too start from the clock (a row deleted and inserted
 * again never starts at a version an old copy of it holds).
 *
 * In `alterTable` the rows already there get 0 (a constant default, so the
 * table is not rewritten), and the clock becomes the default just after, for
 * rows inserted later. Except on SQLite, which cannot change a column's
 * default without rebuilding the table: there rows that other SQL inserts
 * into such a table start at 0 and must be given a version (docs/edges.md).
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
  const altering = _method === 'alter';
  const clock = adapterForKnex({ client } as unknown as Knex).clockVersionDefault(altering);
  const column = table.bigInteger(name).notNullable();
  if (clock === undefined) return column.defaultTo(0);
  const now = client.raw(clock) as unknown as Knex.Raw;
  if (!altering) return column.defaultTo(now);
  // Knex runs an alterTable's added columns first, then its altered ones.
  (table as Knex.AlterTableBuilder).bigInteger(name).notNullable().defaultTo(now).alter({ alterNullable: false, alterType: false });
  return column.defaultTo(0);
}
