import type { Knex } from 'knex';
import {
  addVersionColumn,
  AutoField,
  AutoIncVersionField,
  BooleanField,
  CharField,
  createVersionTrigger,
  Database,
  DateTimeField,
  FloatField,
  IntegerField,
  IntegerVersionField,
  JsonField,
  Model,
  RecordModifiedError,
  retryOnConflict,
  TextField,
  TriggerVersionField,
  VersionField,
} from '../../lib';
import type { TestDialectName } from './dialects';
import { recreateTable } from './schema';

/** The version strategies that every compare-and-swap spec runs with. */
export interface VersionKind {
  readonly name: string;
  make(): VersionField;
  /** Checks the version of a freshly inserted row. */
  isInitial(v: number): boolean;
  /** Checks the version after one checked save from `prev`. */
  isNext(prev: number, next: number): boolean;
  /** Statements a successful save sends (transaction control included), per dialect. */
  readonly saveStatements: Readonly<Record<TestDialectName, number>>;
  /** The database keeps the version (a trigger): raw SQL cannot set it, and every UPDATE raises it by 1. */
  readonly keptByDatabase: boolean;
  /** Called after the table is created (installs the trigger a kind needs). */
  install?(knex: Knex, table: string): Promise<void>;
}

const ONE_STATEMENT = Object.freeze({ sqlite: 1, postgres: 1, mysql: 1 });

export const VERSION_KINDS: readonly VersionKind[] = [
  {
    name: 'IntegerVersionField',
    make: () => new IntegerVersionField(),
    // A microsecond clock: after 2020 and a safe integer.
    isInitial: (v) => Number.isSafeInteger(v) && v > 1_577_836_800_000_000,
    isNext: (prev, next) => Number.isSafeInteger(next) && next > prev,
    saveStatements: ONE_STATEMENT,
    keptByDatabase: false,
  },
  {
    name: 'AutoIncVersionField',
    make: () => new AutoIncVersionField(),
    isInitial: (v) => v === 1,
    isNext: (prev, next) => next === prev + 1,
    saveStatements: ONE_STATEMENT,
    keptByDatabase: false,
  },
  {
    name: 'TriggerVersionField',
    make: () => new TriggerVersionField(),
    isInitial: (v) => v === 1,
    isNext: (prev, next) => next === prev + 1,
    // PostgreSQL: UPDATE ... RETURNING. SQLite, MySQL: BEGIN, UPDATE, SELECT, COMMIT.
    saveStatements: { sqlite: 4, postgres: 1, mysql: 4 },
    keptByDatabase: true,
    install: async (knex, table) => {
      await createVersionTrigger(knex, table, 'version');
    },
  },
];

export interface Product extends Model {
  id: number;
  name: string;
  description: string;
  price: number;
  stock: number;
  version: number;
}

export type ProductClass = ReturnType<typeof productModel>;

/** A fresh `Product` model class on `table`, bound to `db`. */
export function productModel(db: Database, table: string, kind: VersionKind) {
  class Product extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      name: new CharField({ maxLength: 100 }),
      description: new TextField({ default: '' }),
      price: new FloatField({ default: 0 }),
      stock: new IntegerField({ default: 0 }),
      version: kind.make(),
    };
    declare id: number;
    declare name: string;
    declare description: string;
    declare price: number;
    declare stock: number;
    declare version: number;
  }
  Product.bind(db);
  return Product;
}

/** Creates the products table afresh, with what `kind` needs (its version trigger). */
export async function createProductTable(knex: Knex, table: string, kind?: VersionKind): Promise<void> {
  await recreateTable(knex, table, (t) => {
    t.increments('id');
    t.string('name', 100).notNullable();
    t.text('description').notNullable();
    t.double('price').notNullable().defaultTo(0);
    t.integer('stock').notNullable().defaultTo(0);
    addVersionColumn(t);
  });
  await kind?.install?.(knex, table);
}

/** A model with one field of every type, and awkward column names. */
export function everythingModel(db: Database, table: string) {
  class Thing extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      title: new CharField({ maxLength: 10 }),
      body: new TextField({ null: true }),
      count: new IntegerField({ default: 0 }),
      ratio: new FloatField({ null: true }),
      active: new BooleanField({ default: true }),
      at: new DateTimeField({ null: true }),
      data: new JsonField({ null: true }),
      order: new IntegerField({ column: 'order', default: 0 }),
      selected: new CharField({ maxLength: 20, column: 'select', null: true }),
      version: new AutoIncVersionField(),
    };
    declare id: number;
    declare title: string;
    declare body: string | null;
    declare count: number;
    declare ratio: number | null;
    declare active: boolean;
    declare at: Date | null;
    declare data: unknown;
    declare order: number;
    declare selected: string | null;
    declare version: number;
  }
  Thing.bind(db);
  return Thing;
}

export async function createEverythingTable(knex: Knex, table: string): Promise<void> {
  await recreateTable(knex, table, (t) => {
    t.increments('id');
    t.string('title', 10).notNullable();
    t.text('body').nullable();
    t.integer('count').notNullable();
    t.double('ratio').nullable();
    t.boolean('active').notNullable();
    t.timestamp('at', { useTz: true, precision: 3 }).nullable();
    t.json('data').nullable();
    t.integer('order').notNullable();
    t.string('select', 20).nullable();
    addVersionColumn(t);
  });
}

/** One version kind's suite inside `forEachVersionKind`: its kind, table and a fresh model for each test. */
export interface VersionKindSuite {
  readonly kind: VersionKind;
  readonly table: string;
  /** The model class bound for the current test (made in a `beforeEach`). */
  readonly Product: ProductClass;
}

/**
 * Declares `body` once per version kind, each in its own `describe`, with a
 * products table `<prefix>_<kind>` recreated (trigger included) and a fresh
 * model bound to the dialect's database before every test.
 *
 * @example
 * ```ts
 * forEachDialect('save()', (d) => {
 *   forEachVersionKind(d, 'save', (v) => {
 *     it('writes', async () => { const p = await v.Product.create({ name: 'x' }); ... });
 *   });
 * });
 * ```
 */
export function forEachVersionKind(d: { readonly knex: Knex; readonly db: Database }, prefix: string, body: (suite: VersionKindSuite) => void): void {
  for (const kind of VERSION_KINDS) {
    describe(kind.name, () => {
      const table = `${prefix}_${kind.name.toLowerCase()}`;
      let Product: ProductClass | undefined;
      beforeEach(async () => {
        await createProductTable(d.knex, table, kind);
        Product = productModel(d.db, table, kind);
      });
      body({
        kind,
        table,
        get Product(): ProductClass {
          if (Product === undefined) throw new Error('VersionKindSuite.Product used outside a test');
          return Product;
        },
      });
    });
  }
}

/**
 * One read-modify-write increment of `stock`, run again from the load on
 * every conflict (`retryOnConflict`); `onConflict` counts them.
 */
export async function incrementStock(Product: ProductClass, id: number, onConflict: () => void = () => undefined): Promise<InstanceType<ProductClass>> {
  return retryOnConflict(
    async () => {
      const c = await Product.get(id);
      c.stock += 1;
      try {
        await c.save();
      } catch (err) {
        if (err instanceof RecordModifiedError) onConflict();
        throw err;
      }
      return c;
    },
    { attempts: 1000, delayMs: () => Math.random() * 3 },
  );
}

/** A small model for transaction specs: a name and an auto-increment version. */
export function itemModel(db: Database, table: string) {
  class Item extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      name: new CharField({ maxLength: 50 }),
      doc: new JsonField({ null: true }),
      version: new AutoIncVersionField(),
    };
    declare id: number;
    declare name: string;
    declare doc: unknown;
    declare version: number;
  }
  Item.bind(db);
  return Item;
}

export async function createItemTable(knex: Knex, table: string): Promise<void> {
  await recreateTable(knex, table, (t) => {
    t.increments('id');
    t.string('name', 50).notNullable();
    t.json('doc').nullable();
    addVersionColumn(t);
  });
}
