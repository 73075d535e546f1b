import type { Knex } from 'knex';
import { addVersionColumn } from 'knex-concurrency';

/** The demo's schema: products, with a version column for optimistic locking. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('products', (t) => {
    t.increments('id');
    t.string('name', 100).notNullable();
    t.text('description').notNullable();
    addVersionColumn(t);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('products');
}
