import type { Knex } from 'knex';

/**
 * Adds a version column to a table definition in a migration:
 * `bigint not null default 0`. The model writes the real initial version on
 * insert; the default only covers rows inserted by other writers.
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
  return table.bigInteger(name).notNullable().defaultTo(0);
}
