import { expect } from 'chai';
import type { Knex } from 'knex';
import { addVersionColumn, AutoField, AutoIncVersionField, connect, IntegerField, Model, RecordModifiedError } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { countQueries, recreateTable } from './support/schema';

// The library keeps its statements prepared per connection (a kept sqlite3
// Statement, a named PostgreSQL statement). These specs pin that nothing a
// user can see changes because of it: schema changes, errors, concurrency,
// closing, and one Knex `query` event per statement.
forEachDialect('statements kept prepared per connection', (d) => {
  const table = 'prepared_products';
  const kind = VERSION_KINDS[1]!;
  let Product: ReturnType<typeof productModel>;

  beforeEach(async () => {
    await createProductTable(d.knex, table);
    Product = productModel(d.db, table, kind);
  });

  it('a table dropped and re-created under kept statements keeps working', async () => {
    const p = await Product.create({ name: 'before' });
    p.name = 'saved';
    await p.save();
    await createProductTable(d.knex, table);
    const q = await Product.create({ name: 'after' });
    expect(q.id).to.equal(p.id);
    q.name = 'saved again';
    const { count } = await countQueries(d.knex, () => q.save());
    expect(count).to.equal(1);
    expect((await Product.get(q.id)).name).to.equal('saved again');
  });

  it('a statement on a missing table fails with the driver error, then works once the table exists', async () => {
    await Product.create({ name: 'x' });
    await d.knex.schema.dropTable(table);
    for (let i = 0; i < 2; i++) {
      for (const attempt of [() => Product.get(1), () => Product.create({ name: 'nowhere' })]) {
        const err = await attempt().then(
          () => undefined,
          (e: Error) => e,
        );
        expect(err, 'the statement failed instead of hanging or succeeding').to.be.instanceOf(Error);
        expect(err!.message).to.match(new RegExp(`${table}|relation|no such table|doesn't exist`, 'i'));
      }
    }
    await createProductTable(d.knex, table);
    const p = await Product.create({ name: 'back' });
    expect((await Product.get(p.id)).name).to.equal('back');
  });

  it('many saves in flight at once each report their own row count', async () => {
    // Twelve current instances and one stale copy of a thirteenth row: the
    // saves share kept statements (one connection on SQLite in memory, a few
    // on a file), and each must see its own matched-row count.
    const items = await Promise.all(Array.from({ length: 12 }, (_, i) => Product.create({ name: `p${i}` })));
    const other = await Product.create({ name: 'other' });
    const stale = await Product.get(other.id);
    other.stock = 1;
    await other.save();
    items.forEach((p, i) => {
      p.stock = i + 1;
    });
    stale.stock = 99;
    const outcomes = await Promise.allSettled([...items.map((p) => p.save()), stale.save()]);
    const failed = outcomes.slice(0, 12).filter((o) => o.status === 'rejected');
    expect(failed.map((o) => String((o as PromiseRejectedResult).reason))).to.deep.equal([]);
    const last = outcomes[12]!;
    expect(last.status).to.equal('rejected');
    expect((last as PromiseRejectedResult).reason).to.be.instanceOf(RecordModifiedError);
    for (const p of items) {
      const row = await d.knex(table).where({ id: p.id }).first();
      expect([row.stock, Number(row.version)]).to.deep.equal([p.stock, p.version]);
    }
  });

  // One statement text per model and shape, but a shape is a set of changed
  // fields: a model with a few fields has hundreds. Kept without a bound, every
  // one would stay prepared on every connection for its lifetime (MySQL then
  // refuses new ones server-wide past max_prepared_stmt_count, 16382).
  it('a model saved in more shapes than a connection keeps prepared saves every one, and the connection keeps a bounded number', async () => {
    const wide = 'prepared_wide';
    const names = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8'];
    await recreateTable(d.knex, wide, (t) => {
      t.increments('id');
      for (const n of names) t.integer(n).notNullable().defaultTo(0);
      addVersionColumn(t);
    });
    class Wide extends Model {
      static table = wide;
      static fields = { id: new AutoField(), ...Object.fromEntries(names.map((n) => [n, new IntegerField({ default: 0 })])), version: new AutoIncVersionField() };
    }
    // A pool of its own: the session counters below then count this test's
    // statements only (a failed PREPARE in an earlier spec counts as a prepare
    // that was never closed).
    const fresh = d.connectAgain();
    Wide.bind(fresh);
    // Statements this connection holds prepared now, where the database tells.
    const keptOn = d.pick<((trx: Knex.Transaction) => Promise<number>) | null>({
      sqlite: null,
      postgres: async (trx) => Number((await trx.raw('SELECT count(*) AS n FROM pg_prepared_statements')).rows[0].n),
      mysql: async (trx) => {
        const [rows] = await trx.raw("SHOW SESSION STATUS WHERE Variable_name IN ('Com_stmt_prepare', 'Com_stmt_close')");
        const count = Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, Number(r.Value)]));
        return count.Com_stmt_prepare! - count.Com_stmt_close!;
      },
    });
    const shapes = 300;
    const w = await Wide.create();
    const values = w as unknown as Record<string, number>;
    const v0 = values.version!;
    const kept = await fresh.transaction(async (trx) => {
      for (let shape = 1; shape <= shapes; shape++) {
        names.forEach((n, bit) => {
          if (shape & (1 << bit)) values[n] = shape;
        });
        await w.save();
      }
      return keptOn === null ? null : keptOn(trx);
    });
    expect(values.version).to.equal(v0 + shapes);
    const row = await d.knex(wide).where({ id: values.id }).first();
    expect(names.map((n) => row[n])).to.deep.equal(names.map((n) => values[n]));
    if (kept !== null) expect(kept).to.be.at.most(200);
  });

  it('a pool whose connections hold kept statements closes cleanly', async () => {
    const db = connect(d.url);
    try {
      const Other = productModel(db, table, kind);
      const p = await Other.create({ name: 'closing' });
      p.stock = 1;
      await p.save();
      await Other.get(p.id);
    } finally {
      const failures: unknown[] = [];
      (db.knex.client as unknown as { pool: { on(e: string, fn: (...a: unknown[]) => void): void } }).pool.on('destroyFail', (_id, _res, err) => failures.push(err));
      await db.close();
      expect(failures).to.deep.equal([]);
    }
  });

  if (d.name === 'postgres') {
    it('after a column changes type, a kept read never fails: it is prepared again (spec/schema-change.spec.ts has the rest)', async () => {
      const p = await Product.create({ name: 'typed' });
      await Product.get(p.id);
      await d.knex.raw(`ALTER TABLE ${table} ALTER COLUMN name TYPE text`);
      let failures = 0;
      for (let i = 0; i < 3; i++) {
        try {
          expect((await Product.get(p.id)).name).to.equal('typed');
        } catch (err) {
          expect((err as { code?: string }).code).to.equal('0A000');
          failures++;
        }
      }
      expect(failures).to.equal(0);
    });
  }
});
