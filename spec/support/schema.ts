import type { Knex } from 'knex';

/** Drops `table` if it exists and creates it anew, so every suite starts clean. */
export async function recreateTable(knex: Knex, table: string, build: (t: Knex.CreateTableBuilder) => void): Promise<void> {
  await knex.schema.dropTableIfExists(table);
  await knex.schema.createTable(table, build);
}

/** Counts the statements Knex sends while `fn` runs (every connection of this Knex instance). */
export async function countQueries<T>(knex: Knex, fn: () => Promise<T>): Promise<{ result: T; count: number; sql: string[] }> {
  const sql: string[] = [];
  const listener = (q: { sql: string }): void => {
    sql.push(q.sql);
  };
  knex.on('query', listener);
  try {
    const result = await fn();
    return { result, count: sql.length, sql };
  } finally {
    knex.off('query', listener);
  }
}
