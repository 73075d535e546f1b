import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import {
  addVersionColumn,
  AutoField,
  AutoIncVersionField,
  BooleanField,
  CharField,
  connect,
  Database,
  IntegerField,
  isChanged,
  JsonField,
  Model,
  UsageError,
  ValidationError,
} from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { countQueries, recreateTable } from './support/schema';
import { firstRow, sessionConfig } from './support/session';

// Calls and queries at the edges: every misuse is a typed error before any
// SQL, identically on every dialect; what a user configures on Knex is kept.
forEachDialect('edge calls: save() options, operators, isChanged, versions of new rows', (d) => {
  const table = 'edge_calls';
  const kind = VERSION_KINDS[1]!;
  let Product: ReturnType<typeof productModel>;

  beforeEach(async () => {
    await createProductTable(d.knex, table);
    Product = productModel(d.db, table, kind);
  });

  it('save(null), save({ fields: "name" }), a misspelt option and non-string fields are UsageErrors before any SQL', async () => {
    const p = await Product.create({ name: 'a' });
    p.name = 'b';
    for (const bad of [null, 'name', 5, [], { fields: 'name' }, { field: ['name'] }, { fields: [1] }, { fields: null }]) {
      const { count, result } = await countQueries(d.knex, () => rejection(() => p.save(bad as never), UsageError));
      expect(count, `no SQL for ${JSON.stringify(bad)}`).to.equal(0);
      expect(result.message).to.match(/save\(\) takes/);
    }
    // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
    await rejection(() => p.save({ fields: ['nope'] }), ValidationError);
    await p.save({ fields: ['name'] });
    expect((await Product.get(p.id)).name).to.equal('b');
    await p.save(undefined);
  });

  it('an operator the field type does not support everywhere is a ValidationError before any SQL, and a transaction goes on', async () => {
    const p = await Product.create({ name: 'lamp', stock: 12 });
    await d.db.transaction(async () => {
      for (const [field, op, value] of [
        ['stock', 'like', '1%'],
        ['price', 'not like', '%'],
        ['version', 'like', '1'],
        ['id', 'like', '1'],
      ] as const) {
        const { count, result } = await countQueries(d.knex, () => rejection(() => Product.query().where(field, op, value as never), ValidationError));
        expect(count).to.equal(0);
        expect(result.field).to.equal(field);
        expect(result.message).to.match(/cannot be compared with (not )?like/);
      }
      // Still usable (PostgreSQL aborts a transaction on any failed statement).
      p.stock = 13;
      await p.save();
    });
    expect((await Product.get(p.id)).stock).to.equal(13);
    expect(await Product.query().where('name', 'like', 'la%').count()).to.equal(1);
  });

  it('JSON fields take no comparison and no ordering, booleans no ordering; whereNull works', async () => {
    const t = 'edge_calls_doc';
    await recreateTable(d.knex, t, (b) => {
      b.increments('id');
      b.json('data').nullable();
      b.boolean('flag').notNullable();
      addVersionColumn(b);
    });
    class Doc extends Model {
      static table = t;
      static fields = { id: new AutoField(), data: new JsonField({ null: true }), flag: new BooleanField({ default: false }), version: new AutoIncVersionField() };
      declare id: number;
      declare data: unknown;
      declare flag: boolean;
    }
    Doc.bind(d.db);
    await Doc.create({ data: { a: 1 } });
    await Doc.create({ data: null, flag: true });
    const attempts: (() => unknown)[] = [
      () => Doc.query().where('data', { a: 1 }),
      () => Doc.query().where({ data: 'x' }),
      () => Doc.query().where('data', '=', 'x'),
      () => Doc.query().whereNot('data', 'x'),
      () => Doc.query().whereIn('data', ['x']),
      () => Doc.query().orderBy('data'),
      () => Doc.query().where('flag', '<', true),
      () => Doc.query().orderBy('flag'),
    ];
    for (const attempt of attempts) {
      const { count } = await countQueries(d.knex, () => rejection(attempt, ValidationError));
      expect(count).to.equal(0);
    }
    expect(await Doc.query().whereNull('data').count()).to.equal(1);
    expect(await Doc.query().whereNotNull('data').count()).to.equal(1);
    expect(await Doc.query().where('flag', true).count()).to.equal(1);
    expect(await Doc.query().where('flag', '<>', true).count()).to.equal(1);
  });

  it('isChanged() on an instance that deleted its own row resolves true, without a read', async () => {
    const p = await Product.create({ name: 'gone' });
    await p.delete();
    const { result, count } = await countQueries(d.knex, () => isChanged(p));
    expect(result).to.equal(true);
    expect(count).to.equal(0);
    // Even when the key is used again by a new row.
    await d.knex(table).insert({ id: p.id, name: 'again', description: '', version: 1 });
    expect(await isChanged(p)).to.equal(true);
    await rejection(() => isChanged(new Product()), UsageError);
  });

  it('a version assigned to a new instance is refused like create({ version })', async () => {
    const viaCreate = await rejection(() => Product.create({ name: 'x', version: 5 }), ValidationError);
    const fresh = new Product();
    fresh.name = 'y';
    const viaAssign = await rejection(() => {
      fresh.version = 5;
    }, ValidationError);
    expect(viaAssign.field).to.equal('version');
    expect(viaAssign.message).to.equal(viaCreate.message);
    await fresh.save();
    expect(fresh.version).to.not.equal(5);
    // A loaded row takes a version (a client's If-Match), as before.
    const loaded = await Product.get(fresh.id);
    loaded.version = fresh.version;
  });
});

forEachDialect('edge calls: forUpdate().count(), ? in column names, postProcessResponse, prepared statements off', (d) => {
  it('count() after forUpdate() counts, and locks, inside a transaction', async () => {
    const table = 'edge_calls_lock';
    await createProductTable(d.knex, table);
    const Product = productModel(d.db, table, VERSION_KINDS[1]!);
    await Product.create({ name: 'a', stock: 1 });
    await Product.create({ name: 'b', stock: 2 });
    await Product.create({ name: 'c', stock: 2 });
    const n = await d.db.transaction(async () => Product.query().where('stock', 2).forUpdate().count());
    expect(n).to.equal(2);
    expect(await Product.query().forUpdate().orderBy('name').count()).to.equal(3);
  });

  // connect(url) builds the Knex client; connect(knex) takes the user's own, whose
  // PostgreSQL placeholders are numbered ($1, $2) by a scan that ignores quotes.
  for (const via of ['connect(url)', 'connect(knex) with a Knex instance of your own'] as const) {
    it(`a ? in a column name works for every statement: ${via}`, async () => {
      const own = via === 'connect(url)' ? undefined : knexFactory(sessionConfig(d));
      const db = own === undefined ? d.db : connect(own);
      try {
        await aQuestionMarkColumn(db);
        if (own !== undefined) {
          // The Knex instance's own queries on such a column work too.
          await own('edge_calls_q').insert({ 'ok?': 'k?', 'n?x': 5, version: 1 });
          expect(await own('edge_calls_q').where('ok?', 'k?').select('n?x')).to.deep.equal([{ 'n?x': 5 }]);
          await own.transaction((trx) => trx('edge_calls_q').where('ok?', 'k?').update({ 'n?x': 6 }));
          expect(await own('edge_calls_q').where('ok?', 'k?').first('n?x')).to.deep.equal({ 'n?x': 6 });
        }
      } finally {
        if (own !== undefined) {
          await db.close();
          await own.destroy();
        }
      }
    });
  }

  it("a Knex postProcessResponse hook sees what Knex gives it (object rows), and query() still loads instances", async () => {
    const table = 'edge_calls_hook';
    await createProductTable(d.knex, table);
    const seen: unknown[] = [];
    const camel = (key: string): string => key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
    const config: Knex.Config = {
      ...sessionConfig(d),
      postProcessResponse: (result: unknown) => {
        seen.push(result);
        if (!Array.isArray(result)) return result;
        return result.map((row) => (row !== null && typeof row === 'object' && !Array.isArray(row) ? Object.fromEntries(Object.entries(row).map(([k, v]) => [camel(k), v])) : row));
      },
    };
    const db = connect(config);
    try {
      const Product = productModel(db, table, VERSION_KINDS[1]!);
      const p = await Product.create({ name: 'hooked', stock: 4 });
      seen.length = 0;
      const [loaded] = await Product.query().where('id', p.id);
      expect(loaded!.toJSON()).to.deep.equal(p.toJSON());
      const rows = seen.find((r) => Array.isArray(r) && r.length === 1) as unknown[];
      expect(rows, 'the hook ran on the select').to.not.equal(undefined);
      expect(Array.isArray(rows[0]), 'rows are objects, as Knex gives them').to.equal(false);
      expect(rows[0]).to.include({ name: 'hooked', stock: 4 });
      expect(await Product.query().count()).to.equal(1);
    } finally {
      await db.close();
    }
  });

  // PgBouncer in transaction pooling mode hands each transaction whichever
  // server connection is free: a statement prepared on one is unknown on the
  // next. The opt-out runs the library's statements unprepared on the server.
  const preparedCount = d.pick<((db: Database) => Promise<number>) | undefined>({
    sqlite: undefined,
    postgres: async (db) => Number(firstRow(d, await db.knex.raw('SELECT count(*) AS n FROM pg_prepared_statements')).n),
    mysql: async (db) => Number(firstRow(d, await db.knex.raw("SHOW SESSION STATUS LIKE 'Com_stmt_prepare'")).Value),
  });

  for (const [how, target] of [
    ['the URL parameter ?preparedStatements=false', (): unknown => `${d.url}${d.url.includes('?') ? '&' : '?'}preparedStatements=false`],
    ['kcPreparedStatements: false in a Knex config', (): unknown => ({ ...sessionConfig(d), kcPreparedStatements: false })],
  ] as const) {
    it(`${how} keeps the server free of the library's prepared statements`, async () => {
      const table = 'edge_calls_prep';
      await createProductTable(d.knex, table);
      const on = connect({ ...sessionConfig(d) });
      const off = connect(target() as string);
      try {
        for (const db of [on, off]) {
          const Product = productModel(db, table, VERSION_KINDS[1]!);
          const p = await db.transaction(async () => {
            const p = await Product.create({ name: 'x' });
            p.stock = 2;
            await p.save();
            return p;
          });
          await Product.get(p.id);
          p.stock = 3;
          await p.save();
        }
        if (preparedCount === undefined) return; // SQLite prepares in-process: no server, no pooler.
        // Each pool has one connection, so the session counts are the library's.
        expect(await preparedCount(on), 'prepared by default').to.be.greaterThan(0);
        expect(await preparedCount(off), 'none with the opt-out').to.equal(0);
      } finally {
        await Promise.all([on.close(), off.close()]);
      }
    });
  }

  it('a preparedStatements value that is not true or false is a UsageError', async () => {
    const url = d.pick({ sqlite: undefined, postgres: `${d.url}?preparedStatements=maybe`, mysql: `${d.url}?preparedStatements=maybe` });
    if (url !== undefined) await rejection(() => connect(url), UsageError);
    if (d.name !== 'sqlite') await rejection(() => connect({ ...sessionConfig(d), kcPreparedStatements: 'no' } as never), UsageError);
  });
});

/** Every statement of a model whose columns are named `ok?` and `n?x`, on `db`. */
async function aQuestionMarkColumn(db: Database): Promise<void> {
  const table = 'edge_calls_q';
  await recreateTable(db.knex, table, (t) => {
    t.increments('id');
    t.string('ok?', 10).nullable();
    t.integer('n?x').notNullable();
    addVersionColumn(t);
  });
  class Q extends Model {
    static table = table;
    static fields = { id: new AutoField(), ok: new CharField({ column: 'ok?', maxLength: 10, null: true }), n: new IntegerField({ column: 'n?x', default: 0 }), version: new AutoIncVersionField() };
    declare id: number;
    declare ok: string | null;
    declare n: number;
    declare version: number;
  }
  Q.bind(db);
  const q = await Q.create({ ok: '?', n: 1 });
  expect((await Q.get(q.id)).toJSON()).to.deep.equal(q.toJSON());
  expect((await Q.query().where('ok', '?').where('n', '>', 0)).map((x) => x.id)).to.deep.equal([q.id]);
  expect(await Q.query().where('ok', 'like', '?%').count()).to.equal(1);
  expect((await Q.query().whereIn('n', [1, 2]).whereNotNull('ok').orderBy('n').first())?.id).to.equal(q.id);
  q.ok = 'b?';
  q.n = 2;
  await q.save();
  expect(await Q.query().where('ok', 'b?').update({ n: 3 })).to.equal(1);
  await q.refresh();
  expect([q.ok, q.n]).to.deep.equal(['b?', 3]);
  await db.transaction(async () => {
    q.n = 4;
    await q.save();
  });
  expect(await isChanged(q)).to.equal(false);
  await q.delete();
  expect(await Q.query().count()).to.equal(0);
}
