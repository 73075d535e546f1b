import { expect } from 'chai';
import type { Knex } from 'knex';
import { addVersionColumn, AutoField, BooleanField, CharField, connect, DateTimeField, FloatField, IntegerField, IntegerVersionField, JsonField, Model, TextField, type Database } from '../lib';
import type { TestDialectName } from './support/dialects';
import { forEachDialect } from './support/for-each-dialect';
import { countQueries, recreateTable } from './support/schema';

// What Model.query() loads is what was stored, value for value and in the
// order asked for, however the dialect reads the result set (SQLite packs it
// into one JSON document: see lib/dialects/sqlite/sqlite-packed-rows.ts).
// The attacks: values a JSON rendering changes (doubles needing 17 digits,
// and the ones SQLite's own CAST(x AS TEXT) gets wrong), strings JSON must
// escape, integers past 2^53, ties and windows in the ordering, a result
// too big for one value, and values other SQL wrote that no field would.

/** Doubles that need every digit; the last three SQLite's CAST(x AS TEXT) renders as a neighbour. */
const DOUBLES: readonly number[] = [
  0.1 + 0.2, 123456789.123456789, 0.1, 1, -1.5, 0, 19.99, 1e21, 1e-7, 1e300, -1e300,
  Number.MIN_VALUE, -Number.MIN_VALUE, Number.MAX_VALUE, -Number.MAX_VALUE, 2.2250738585072014e-308, 2.225073858507201e-308,
  2 ** 53, 2 ** 53 + 2, -(2 ** 60), 809916234469800100, -385376787239860030, 0.44119950050698997, 0.8975515796567199,
];

/** Strings JSON must escape or carry as they are. */
const STRINGS: readonly string[] = [
  '', 'plain', 'a"b\\c/d', '\u0001\u0008\u000c\n\r\t\u001f\u007f', '\u2028\u2029', '😀 emoji', 'é ü ß 中文', '\ud7ff\ue000\uffff',
  'null', '[1,2]', '{"a":1}', '"q"', ' 7 ', 'x'.repeat(5000),
];

const DATES: readonly Date[] = [new Date('1970-01-01T00:00:00.001Z'), new Date('2024-02-29T23:59:59.999Z'), new Date('1969-12-31T23:59:59.999Z'), new Date('2999-12-31T12:00:00.500Z')];

/** A reproducible double from random bits (no NaN or infinity), so the set is the same on every run. */
function doubles(count: number, seed: number): number[] {
  const out: number[] = [];
  const view = new DataView(new ArrayBuffer(8));
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  while (out.length < count) {
    view.setUint32(0, next());
    view.setUint32(4, next());
    const d = view.getFloat64(0);
    // MySQL/MariaDB refuses subnormals in some modes and -0 is +0 on SQLite's disk: both are covered above or below.
    if (Number.isFinite(d) && Math.abs(d) >= 2.2250738585072014e-308) out.push(d);
  }
  return out;
}

forEachDialect('loads: query() returns the values stored, in order', (d) => {
  const table = 'load_values';

  class Thing extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      name: new CharField({ maxLength: 5000, null: true }),
      note: new TextField({ null: true }),
      stock: new IntegerField({ null: true }),
      price: new FloatField({ null: true }),
      paid: new BooleanField({ null: true }),
      at: new DateTimeField({ null: true }),
      doc: new JsonField({ null: true }),
      version: new IntegerVersionField(),
    };
    declare id: number;
    declare name: string | null;
    declare note: string | null;
    declare stock: number | null;
    declare price: number | null;
    declare paid: boolean | null;
    declare at: Date | null;
    declare doc: unknown;
    declare version: number;
  }
  // Every read is exact: MariaDB's text protocol would print a double with 16 significant
  // digits (986159697.2945185 as 986159697.2945184), so the library reads it in binary
  // (see spec/read-protocol.spec.ts).
  const sameDouble = (got: unknown, want: number): boolean => Object.is(got, want);
  type Values = Partial<Pick<Thing, 'name' | 'note' | 'stock' | 'price' | 'paid' | 'at' | 'doc'>>;
  const NAMES = ['name', 'note', 'stock', 'price', 'paid', 'at', 'doc'] as const;

  before(async () => {
    await recreateTable(d.knex, table, (t) => {
      t.increments('id');
      t.string('name', 5000).nullable();
      t.text('note').nullable();
      t.bigInteger('stock').nullable();
      t.double('price').nullable();
      t.boolean('paid').nullable();
      t.datetime('at', { precision: 3 }).nullable();
      t.text('doc').nullable();
      addVersionColumn(t);
    });
    Thing.bind(d.db);
  });

  beforeEach(async () => {
    await d.knex(table).del();
  });

  /** Creates rows of `values` and checks that query() loads them back, each field identical. */
  async function roundTrip(values: readonly Values[]): Promise<void> {
    const created = await Thing.createAll(values.map((v) => ({ ...v })));
    const loaded = await Thing.query().orderBy('id');
    expect(loaded.map((t) => t.id)).to.deep.equal(created.map((t) => t.id));
    loaded.forEach((t, i) => {
      for (const name of NAMES) {
        const want = values[i]![name] ?? null;
        const got = t[name];
        if (typeof want === 'number') expect(sameDouble(got, want), `${name} of row ${i}: ${String(got)} for ${want}`).to.equal(true);
        else expect(got, `${name} of row ${i}`).to.deep.equal(want);
      }
      expect(t.version).to.equal(created[i]!.version);
    });
    // Loaded as stored, so nothing is changed: saving them all writes nothing.
    const { count } = await countQueries(d.knex, () => Promise.all(loaded.map((t) => t.save())));
    expect(count, 'statements of saves after a load').to.equal(0);
  }

  it('doubles that need 17 digits, and those a 17-digit rendering gets wrong, load exactly', async () => {
    await roundTrip(DOUBLES.map((price) => ({ price })));
  });

  it('2,000 doubles from random bits load exactly', async () => {
    await roundTrip(doubles(2000, 12).map((price) => ({ price })));
  });

  it('strings JSON escapes (quotes, backslashes, control characters, U+2028, emoji), empty and long ones load exactly', async () => {
    await roundTrip(STRINGS.map((s) => ({ name: s, note: s, doc: { s } })));
  });

  it('integers to the safe limits, booleans, dates and JSON documents load exactly', async () => {
    const ints = [0, 1, -1, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 2 ** 31, -(2 ** 31) - 1];
    await roundTrip([
      ...ints.map((stock) => ({ stock })),
      { paid: true },
      { paid: false },
      ...DATES.map((at) => ({ at })),
      { doc: [1, 'two', null, { three: 3.5 }] },
      { doc: '42' },
      { doc: 0.1 + 0.2 },
    ]);
  });

  it('a row of nulls, and a row with every field set, load as they were', async () => {
    await roundTrip([{}, { name: 'n', note: 't', stock: 7, price: 0.5, paid: true, at: DATES[1]!, doc: { a: [1] } }, {}]);
  });

  it('ordering holds: asc, desc, several keys with ties, limit and offset, first(), and an empty result', async () => {
    // Ties on stock, broken by name then id, the last in descending order.
    const rows = Array.from({ length: 60 }, (_, i) => ({ name: `n${i % 7}`, stock: i % 5, price: (i * 37) % 11 }));
    const made = await Thing.createAll(rows);
    const ids = made.map((t) => t.id);
    const expected = (cmp: (a: Thing, b: Thing) => number): number[] => [...made].sort(cmp).map((t) => t.id);
    const byKeys = (a: Thing, b: Thing): number => a.stock! - b.stock! || (a.name! < b.name! ? -1 : a.name! > b.name! ? 1 : 0) || b.id - a.id;

    expect((await Thing.query().orderBy('id')).map((t) => t.id)).to.deep.equal(ids);
    expect((await Thing.query().orderBy('id', 'desc')).map((t) => t.id)).to.deep.equal([...ids].reverse());
    const several = await Thing.query().orderBy('stock').orderBy('name').orderBy('id', 'desc');
    expect(several.map((t) => t.id)).to.deep.equal(expected(byKeys));
    const byPrice = (a: Thing, b: Thing): number => b.price! - a.price! || a.id - b.id;
    expect((await Thing.query().orderBy('price', 'desc').orderBy('id')).map((t) => t.id)).to.deep.equal(expected(byPrice));
    const window = await Thing.query().orderBy('stock').orderBy('name').orderBy('id', 'desc').limit(13).offset(17);
    expect(window.map((t) => t.id)).to.deep.equal(expected(byKeys).slice(17, 30));
    expect((await Thing.query().orderBy('id').offset(55)).map((t) => t.id)).to.deep.equal(ids.slice(55));
    expect((await Thing.query().where('stock', 3).orderBy('id', 'desc').first())?.id).to.equal(Math.max(...made.filter((t) => t.stock === 3).map((t) => t.id)));
    expect(await Thing.query().where('stock', 99).orderBy('id')).to.deep.equal([]);
    expect(await Thing.query().where('stock', 99).first()).to.equal(undefined);
    expect(await Thing.query().orderBy('id').offset(60)).to.deep.equal([]);
  });

  it('a load of 20,000 rows returns each row once, in order, with its values, in one statement', async function () {
    this.timeout(120_000);
    const rows = Array.from({ length: 20_000 }, (_, i) => ({ name: `item ${i}`, stock: i, price: i / 7, paid: i % 2 === 0, version: 1 }));
    await d.knex.batchInsert(table, rows, 500);
    const { result: loaded, count } = await countQueries(d.knex, () => Thing.query().orderBy('stock', 'desc').all());
    expect(count).to.equal(1);
    expect(loaded).to.have.length(20_000);
    loaded.forEach((t, i) => {
      const want = rows[19_999 - i]!;
      if (t.stock !== want.stock || t.name !== want.name || !sameDouble(t.price, want.price) || t.paid !== want.paid || t.version !== 1) {
        expect.fail(`row ${i}: ${JSON.stringify(t)} for ${JSON.stringify(want)}`);
      }
    });
  });

  it('inside a transaction, a load sees the transaction\'s own rows and versions, and they are gone after a rollback', async () => {
    const before = await Thing.create({ name: 'kept', price: 0.1 + 0.2 });
    const inside = await d.db
      .transaction(async () => {
        const created = await Thing.create({ name: 'inside', price: 0.44119950050698997 });
        const first = (await Thing.query().where('id', before.id).first())!;
        expect(first.version).to.equal(before.version);
        first.name = 'changed';
        await first.save();
        const all = await Thing.query().orderBy('id');
        expect(all.map((t) => [t.name, t.price, t.version])).to.deep.equal([
          ['changed', 0.1 + 0.2, first.version],
          ['inside', 0.44119950050698997, created.version],
        ]);
        throw new Error('roll back');
      })
      .catch((err: Error) => err.message);
    expect(inside).to.equal('roll back');
    const after = await Thing.query().orderBy('id');
    expect(after.map((t) => [t.name, t.version])).to.deep.equal([['kept', before.version]]);
  });
});

/**
 * Values other SQL wrote that no field would: per dialect, raw SQL for a
 * row of (text column, integer column, double column, untyped column).
 * SQLite's dynamic typing lets any column hold any class: a BLOB in a text
 * column, a REAL in an integer one, text in a double one, integers past
 * 2^53 (node-sqlite3 hands back the nearest double), infinities.
 */
const RAW_ROWS: Record<TestDialectName, readonly string[]> = {
  sqlite: [
    "x'00ff', 1.5, 'not a number', x''",
    "CAST(x'c328ff' AS TEXT), 0.44119950050698997, x'0102', 1234567890123456.0",
    "CAST(x'f09f98' AS TEXT) || '\"', 9007199254740993, 1e999, -1e999",
    "'\u2028', 9223372036854775807, -9223372036854775808, 809916234469800100.0",
    "123, -9007199254740993, 5, 'text'",
    "2.5, 9007199254740995, '', NULL",
  ],
  postgres: ["'x', 2147483647, 1e300, 'any'", "'', -2147483648, 5e-324, ''"],
  mysql: ["'x', 2147483647, 1e300, 'any'", "'', -2147483648, -1e-300, ''"],
};

forEachDialect('loads: values other SQL wrote read back as the driver hands them over', (d) => {
  const table = 'load_raw';
  const columns = { text: 't_text', int: 't_int', dbl: 't_dbl', any: 't_any' } as const;

  /** Every column read as the driver hands it over (a TextField converts nothing). */
  class AsGiven extends Model {
    static table = table;
    static concurrency = { enabled: false };
    static fields = {
      id: new AutoField(),
      text: new TextField({ column: columns.text, null: true }),
      int: new TextField({ column: columns.int, null: true }),
      dbl: new TextField({ column: columns.dbl, null: true }),
      any: new TextField({ column: columns.any, null: true }),
    };
  }

  /** Every column read as a FloatField, whose columns a packed read encodes the other way round. */
  class AsFloat extends Model {
    static table = table;
    static concurrency = { enabled: false };
    static fields = {
      id: new AutoField(),
      text: new FloatField({ column: columns.text, null: true }),
      int: new FloatField({ column: columns.int, null: true }),
      dbl: new FloatField({ column: columns.dbl, null: true }),
      any: new FloatField({ column: columns.any, null: true }),
    };
  }

  before(async () => {
    await d.knex.schema.dropTableIfExists(table);
    // SQLite's untyped column keeps every class as it was written; elsewhere it is text.
    const any = d.pick({ sqlite: '', postgres: 'text', mysql: 'text' });
    await d.knex.schema.createTable(table, (t) => {
      t.increments('id');
      t.text(columns.text).nullable();
      t.bigInteger(columns.int).nullable();
      t.double(columns.dbl).nullable();
      t.specificType(columns.any, any).nullable();
    });
    AsGiven.bind(d.db);
    AsFloat.bind(d.db);
    for (const row of RAW_ROWS[d.name]) {
      await d.knex.raw(`INSERT INTO ${table} (${Object.values(columns).join(', ')}) VALUES (${row})`);
    }
  });

  async function driverRows(): Promise<Record<string, unknown>[]> {
    // Knex's plain rows: the driver's own values.
    return d.knex(table).select('id', ...Object.values(columns)).orderBy('id', 'desc');
  }

  it('as given (TextField): every value equals the driver\'s own row, Buffers and non-finite numbers included', async () => {
    const want = await driverRows();
    const loaded = await AsGiven.query().orderBy('id', 'desc');
    expect(loaded).to.have.length(RAW_ROWS[d.name].length);
    loaded.forEach((m, i) => {
      for (const [name, column] of Object.entries(columns)) {
        expect((m as unknown as Record<string, unknown>)[name], `${name} of row ${i}`).to.deep.equal(want[i]![column]);
      }
    });
  });

  it('as floats (FloatField): every value equals the driver\'s own row converted', async () => {
    const want = await driverRows();
    const loaded = await AsFloat.query().orderBy('id', 'desc');
    const f = new FloatField();
    loaded.forEach((m, i) => {
      for (const [name, column] of Object.entries(columns)) {
        const got = (m as unknown as Record<string, unknown>)[name];
        expect(Object.is(got, f.fromDb(want[i]![column])), `${name} of row ${i}: ${String(got)}`).to.equal(true);
      }
    });
  });
});

forEachDialect('loads: a result bigger than the database\'s longest value still loads', (d) => {
  const table = 'load_limit';

  class Row extends Model {
    static table = table;
    static fields = { id: new AutoField(), name: new CharField({ maxLength: 100 }), version: new IntegerVersionField() };
    declare id: number;
    declare name: string;
  }

  // SQLite packs a load into one value, which SQLITE_LIMIT_LENGTH bounds: lowered
  // here on a database of its own, so that 500 rows pass it but no single row
  // does. Its load then runs the plain select too. Elsewhere a load is rows.
  const limited: Record<TestDialectName, { statements: number; open(): Promise<Database | undefined> }> = {
    sqlite: {
      statements: 2,
      open: () => ownSqlite((c) => c.configure('limit', (require('sqlite3') as { LIMIT_LENGTH: number }).LIMIT_LENGTH, 4000)),
    },
    postgres: { statements: 1, open: async () => undefined },
    mysql: { statements: 1, open: async () => undefined },
  };
  let db: Database;
  let own: Database | undefined;

  before(async () => {
    own = await limited[d.name].open();
    db = own ?? d.db;
    await recreateTable(db.knex as Knex, table, (t) => {
      t.increments('id');
      t.string('name', 100);
      addVersionColumn(t);
    });
    Row.bind(db);
  });

  after(async () => {
    await own?.close();
  });

  it('every row comes back, in order', async () => {
    await Row.createAll(Array.from({ length: 500 }, (_, i) => ({ name: `row number ${i}` })));
    const { result, count } = await countQueries(db.knex, () => Row.query().orderBy('id', 'desc').all());
    expect(count).to.equal(limited[d.name].statements);
    expect(result.map((r) => r.name)).to.deep.equal(Array.from({ length: 500 }, (_, i) => `row number ${499 - i}`));
    // And inside a transaction, which goes on and commits.
    const inside = await db.transaction(async () => (await Row.query().orderBy('id')).length);
    expect(inside).to.equal(500);
  });
});

/** A node-sqlite3 connection, as the pool lends it. */
interface SqliteConnection {
  configure(o: 'limit', id: number, v: number): void;
  exec(sql: string, cb: (err: Error | null) => void): void;
}

/** An in-memory SQLite database of its own, its one connection set up by `setUp` before anything else runs on it. */
async function ownSqlite(setUp: (c: SqliteConnection) => Promise<void> | void): Promise<Database> {
  const db = connect('sqlite::memory:');
  const client = db.knex.client as unknown as { acquireConnection(): Promise<SqliteConnection>; releaseConnection(c: unknown): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    await setUp(connection);
  } finally {
    await client.releaseConnection(connection);
  }
  return db;
}

/** The wide model's integer fields: more than the packing's 1,000 columns (SQLite's function arguments). */
const WIDE_FIELDS = 1001;

/**
 * Databases a packed read cannot serve, and the statements their loads take
 * (first load, later loads). SQLite: a UTF-16 database (its packed document
 * is not UTF-8: found on the first load, plain from then on), a connection
 * whose function-argument limit is below a model's width (likewise), and a
 * model wider than the packing (never packed). Elsewhere loads are rows.
 */
const UNPACKABLE: Record<TestDialectName, Record<'utf16' | 'fewArguments' | 'oneArgument' | 'wide', { statements: [number, number]; open(): Promise<Database | undefined> }>> = {
  sqlite: {
    utf16: {
      statements: [2, 1],
      open: () => ownSqlite((c) => new Promise<void>((resolve, reject) => c.exec("PRAGMA encoding = 'UTF-16le'", (err) => (err ? reject(err) : resolve())))),
    },
    fewArguments: {
      statements: [2, 1],
      open: () => ownSqlite((c) => c.configure('limit', (require('sqlite3') as { LIMIT_FUNCTION_ARG: number }).LIMIT_FUNCTION_ARG, 3)),
    },
    // Below printf's two arguments: printf is refused before json_array is.
    oneArgument: {
      statements: [2, 1],
      open: () => ownSqlite((c) => c.configure('limit', (require('sqlite3') as { LIMIT_FUNCTION_ARG: number }).LIMIT_FUNCTION_ARG, 1)),
    },
    wide: { statements: [1, 1], open: async () => undefined },
  },
  postgres: rowsAlways(),
  mysql: rowsAlways(),
};

/** A dialect whose loads are rows: one statement, whatever the database. */
function rowsAlways(): Record<keyof (typeof UNPACKABLE)['sqlite'], { statements: [number, number]; open(): Promise<undefined> }> {
  const rows = { statements: [1, 1] as [number, number], open: async () => undefined };
  return { utf16: rows, fewArguments: rows, oneArgument: rows, wide: rows };
}

/** Whether a dialect's loads are packed (see UNPACKABLE): their statement then aggregates the rows. */
const PACKS: Record<TestDialectName, boolean> = { sqlite: true, postgres: false, mysql: false };

forEachDialect('loads: where rows cannot be packed, they load as they are, and the next load takes one statement', (d) => {
  const table = 'load_unpackable';

  /** Creates 20 rows of `model` on `db`, and checks that two loads return them, in the statements expected. */
  async function loadsTwice(db: Database, model: typeof Model & (new () => Model), values: (i: number) => Record<string, unknown>, statements: [number, number]): Promise<void> {
    const created = await (model as unknown as { createAll(v: Record<string, unknown>[]): Promise<Model[]> }).createAll(Array.from({ length: 20 }, (_, i) => values(i)));
    const want = created.map((m) => m.toJSON());
    for (const expected of statements) {
      const { result, count } = await countQueries(db.knex, () => (model as unknown as { query(): { orderBy(c: string): Promise<Model[]> } }).query().orderBy('id'));
      expect(result.map((m) => m.toJSON())).to.deep.equal(want);
      expect(count, 'statements of the load').to.equal(expected);
    }
  }

  for (const [kind, title] of [
    ['utf16', 'a UTF-16 database: strings of every plane load exactly'],
    ['fewArguments', 'a connection that takes fewer function arguments than the select has columns'],
    ['oneArgument', 'a connection that takes one function argument'],
  ] as const) {
    it(title, async () => {
      const setup = UNPACKABLE[d.name][kind];
      const own = await setup.open();
      const db = own ?? d.db;
      try {
        class Note extends Model {
          static table = table;
          static fields = { id: new AutoField(), text: new TextField({ null: true }), price: new FloatField({ null: true }), version: new IntegerVersionField() };
        }
        await recreateTable(db.knex as Knex, table, (t) => {
          t.increments('id');
          t.text('text').nullable();
          t.double('price').nullable();
          addVersionColumn(t);
        });
        Note.bind(db);
        // Not U+FFFF: SQLite's own UTF-16 to UTF-8 conversion, which the driver's rows go through, reads it as U+FFFD.
        const strings = STRINGS.filter((s) => !s.includes('\uffff'));
        await loadsTwice(db, Note, (i) => ({ text: `é ü 中文 😀 ${strings[i % strings.length]!}`, price: 0.1 + i / 3 }), setup.statements);
      } finally {
        await own?.close();
      }
    });
  }

  it('a load that fails for its own reason, with the words of a refused argument count in a value, fails once and changes nothing after', async () => {
    class Note extends Model {
      static table = table;
      static fields = { id: new AutoField(), text: new TextField({ null: true }), version: new IntegerVersionField() };
    }
    const create = () =>
      recreateTable(d.knex, table, (t) => {
        t.increments('id');
        t.text('text').nullable();
        addVersionColumn(t);
      });
    await create();
    Note.bind(d.db);
    const words = 'SQLITE_ERROR: too many arguments on function json_array';
    // Loaded once: the model's first use reads its table's columns, which would fail first.
    expect(await Note.query().where('text', words).all()).to.deep.equal([]);
    await d.knex.schema.dropTable(table);
    const failed = await countQueries(d.knex, () =>
      Note.query()
        .where('text', words)
        .all()
        .then(
          () => undefined,
          (err: Error) => err,
        ),
    );
    expect(failed.result, 'the load fails: its table is gone').to.be.instanceOf(Error);
    expect(failed.count, 'statements of the failed load').to.equal(1);
    await create();
    await Note.create({ text: words });
    const { result, sql } = await countQueries(d.knex, () => Note.query().where('text', words).all());
    expect(result.map((n) => (n as unknown as { text: string }).text)).to.deep.equal([words]);
    expect(sql.length).to.equal(1);
    expect(/json_group_array/.test(sql[0]!), 'packed as before').to.equal(d.pick(PACKS));
  });

  it(`a model of ${WIDE_FIELDS + 2} fields, wider than SQLite's json_array takes`, async function () {
    this.timeout(60_000);
    const setup = UNPACKABLE[d.name].wide;
    const own = await setup.open();
    const db = own ?? d.db;
    const names = Array.from({ length: WIDE_FIELDS }, (_, i) => `c${i}`);
    try {
      class Wide extends Model {
        static table = table;
        static fields = { id: new AutoField(), ...Object.fromEntries(names.map((n) => [n, new IntegerField({ null: true })])), version: new IntegerVersionField() };
      }
      await recreateTable(db.knex as Knex, table, (t) => {
        t.increments('id');
        for (const n of names) t.integer(n).nullable();
        addVersionColumn(t);
      });
      Wide.bind(db);
      await loadsTwice(db, Wide, (i) => Object.fromEntries(names.map((n, j) => [n, (i * 7 + j) % 1000])), setup.statements);
    } finally {
      await own?.close();
    }
  });
});
