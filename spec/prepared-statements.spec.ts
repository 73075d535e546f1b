import { expect } from 'chai';
import { connect, RecordModifiedError } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { countQueries } from './support/schema';

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
    it('after a column changes type, a kept read fails at most once and then works', async () => {
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
      expect(failures).to.be.at.most(1);
    });
  }
});
