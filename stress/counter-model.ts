import type { Knex } from 'knex';
import { addVersionColumn, AutoField, Database, IntegerField, Model, TextField } from '../lib';
import type { StressKind } from './version-kinds';

/** A hot row: a counter, the log of tokens appended by the increments that built it, and a version. */
export interface Counter extends Model {
  id: number;
  value: number;
  log: string;
  version: number;
}

/** The `Counter` model on `table`, bound to `db`, with `kind`'s version field. */
export function counterModel(db: Database, table: string, kind: StressKind) {
  class Counter extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      value: new IntegerField({ default: 0 }),
      log: new TextField({ default: '' }),
      version: kind.field(),
    };
    declare id: number;
    declare value: number;
    declare log: string;
    declare version: number;
  }
  Counter.bind(db);
  return Counter;
}

/** Creates the counter table with `rows` rows; returns their ids. */
export async function createCounters(knex: Knex, db: Database, table: string, kind: StressKind, rows: number): Promise<number[]> {
  await knex.schema.dropTableIfExists(table);
  await knex.schema.createTable(table, (t) => {
    t.increments('id');
    t.integer('value').notNullable().defaultTo(0);
    // The log grows by one token per increment: TEXT (64 KB on MySQL) would cap a long run.
    t.text('log', 'longtext').notNullable();
    addVersionColumn(t);
  });
  await kind.prepare?.(knex, table);
  const Counter = counterModel(db, table, kind);
  const ids: number[] = [];
  for (let i = 0; i < rows; i++) ids.push((await Counter.create({ value: 0, log: '' })).id);
  return ids;
}
