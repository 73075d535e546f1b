import type { Knex } from 'knex';
import { addVersionColumn, AutoField, AutoIncVersionField, CharField, Database, FloatField, IntegerField, Model, VersionField } from '../lib';

/** The one row shape every workload uses: a key, three plain columns and a version. */
export const ITEM_COLUMNS = ['id', 'name', 'stock', 'price', 'version'] as const;

export interface Item extends Model {
  id: number;
  name: string;
  stock: number;
  price: number;
  version: number;
}

export type ItemClass = ReturnType<typeof itemModel>;

/**
 * A model class on `table`, bound to `db`. `AutoIncVersionField` by default:
 * its `version = version + 1` is what a hand-written compare-and-swap does too.
 */
export function itemModel(db: Database, table: string, version: VersionField = new AutoIncVersionField()) {
  class Item extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      name: new CharField({ maxLength: 100 }),
      stock: new IntegerField({ default: 0 }),
      price: new FloatField({ default: 0 }),
      version,
    };
    declare id: number;
    declare name: string;
    declare stock: number;
    declare price: number;
    declare version: number;
  }
  Item.bind(db);
  return Item;
}

const shared = new WeakMap<Database, Map<string, ItemClass>>();

/** The one model class per database and table, as an application declares it once. */
export function sharedItemModel(db: Database, table: string): ItemClass {
  let perDb = shared.get(db);
  if (perDb === undefined) shared.set(db, (perDb = new Map()));
  let cls = perDb.get(table);
  if (cls === undefined) perDb.set(table, (cls = itemModel(db, table)));
  return cls;
}

/** Drops and creates an item table. */
export async function createItemTable(knex: Knex, table: string): Promise<void> {
  await knex.schema.dropTableIfExists(table);
  await knex.schema.createTable(table, (t) => {
    t.increments('id');
    t.string('name', 100).notNullable();
    t.integer('stock').notNullable().defaultTo(0);
    t.double('price').notNullable().defaultTo(0);
    addVersionColumn(t);
  });
}

/** The row a workload inserts as item `i`. */
export function itemRow(i: number): { name: string; stock: number; price: number; version: number } {
  return { name: `item ${i}`, stock: i, price: i + 0.25, version: 1 };
}

/** Inserts `count` rows in batches (not timed). */
export async function fillItems(knex: Knex, table: string, count: number): Promise<void> {
  const batch = 500;
  for (let start = 0; start < count; start += batch) {
    const rows = [];
    for (let i = start; i < Math.min(count, start + batch); i++) rows.push(itemRow(i));
    await knex(table).insert(rows);
  }
}

/**
 * Inserts one row with Knex and returns its id, as hand-written code does:
 * `returning` where the database has it (Knex warns on every MySQL call that has it).
 */
export async function knexInsert(db: Database, table: string, row: Record<string, unknown>): Promise<number> {
  const [id] = db.dialect === 'mysql' ? await db.knex(table).insert(row) : await db.knex(table).insert(row, ['id']);
  return Number(typeof id === 'object' && id !== null ? (id as { id: unknown }).id : id);
}
