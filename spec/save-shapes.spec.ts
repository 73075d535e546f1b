import { expect } from 'chai';
import { connect, Database, disableConcurrency, disableIncrement, RecordModifiedError } from '../lib';
import { sqliteUrl } from './support/dialects';
import { forEachDialect } from './support/for-each-dialect';
import { createEverythingTable, createProductTable, everythingModel, forEachVersionKind, productModel, VERSION_KINDS } from './support/models';
import { rejection } from './support/expect-error';
import { countQueries } from './support/schema';

// A save reuses the UPDATE text of the last shape it wrote for the model,
// finds changed fields from the baseline's names and drops a settled
// baseline whole: these attack each of those shortcuts.
forEachDialect('save(): statement shapes reused, dirty tracking kept', (d) => {
  forEachVersionKind(d, 'shapes', (suite) => {
    const { kind, table } = suite;
    const row = async (id: number) => d.knex(table).where({ id }).first();

    it('fields assigned in different orders and alternating shapes are written to the right columns', async () => {
      const P = suite.Product;
      const p = await P.create({ name: 'a' });
      const q = await P.create({ name: 'b' });
      p.price = 1.5;
      p.stock = 2;
      await p.save();
      q.stock = 3;
      q.price = 4.5;
      q.description = 'qd';
      await q.save();
      p.stock = 5;
      p.price = 6.5;
      await p.save();
      p.name = 'n1';
      await p.save();
      p.stock = 7;
      await p.save();
      p.name = 'n2';
      await p.save();
      q.description = 'x';
      q.name = 'y';
      await q.save();
      const [rp, rq] = [await row(p.id), await row(q.id)];
      expect([rp.name, Number(rp.price), rp.stock, Number(rp.version)]).to.deep.equal(['n2', 6.5, 7, p.version]);
      expect([rq.name, rq.description, Number(rq.price), rq.stock, Number(rq.version)]).to.deep.equal(['y', 'x', 4.5, 3, q.version]);
    });

    if (!kind.keptByDatabase) {
      it('a checked save after an unchecked and a non-incrementing one of the same shape still checks and raises the version', async () => {
        const P = suite.Product;
        const p = await P.create({ name: 'a' });
        const stale = await P.get(p.id);
        p.stock = 1;
        await disableConcurrency(() => p.save());
        p.stock = 2;
        await disableIncrement(() => p.save());
        const v = p.version;
        p.stock = 3;
        const { sql } = await countQueries(d.knex, () => p.save());
        expect(sql.find((s) => /^update/i.test(s))).to.match(/where .*version.* = (\?|\$\d+)/i);
        expect(kind.isNext(v, p.version)).to.equal(true);
        stale.stock = 99;
        await rejection(stale.save(), RecordModifiedError);
        expect(stale.stock).to.equal(99);
        const r = await row(p.id);
        expect([r.stock, Number(r.version)]).to.deep.equal([3, p.version]);
        // and the unchecked one again after the checked one
        stale.stock = 100;
        await disableConcurrency(() => stale.save());
        expect((await row(p.id)).stock).to.equal(100);
        p.stock = 4;
        await rejection(p.save(), RecordModifiedError);
      });

      it('a checked save that keeps the version, after an unchecked one of the same shape, still checks', async () => {
        const P = suite.Product;
        const p = await P.create({ name: 'a' });
        const stale = await P.get(p.id);
        p.stock = 1;
        await p.save();
        // The same UPDATE shape but for the check: SET stock = ? WHERE id = ?, no version moved.
        p.stock = 2;
        await disableConcurrency(() => disableIncrement(() => p.save()));
        stale.stock = 99;
        await rejection(disableIncrement(() => stale.save()), RecordModifiedError);
        expect((await row(p.id)).stock).to.equal(2);
      });
    }

    it('values assigned while a save is in flight stay dirty (or not) as they should', async () => {
      const P = suite.Product;
      const p = await P.create({ name: 'a' });
      // 1. the saved field reassigned in flight
      p.stock = 1;
      let s = p.save();
      p.stock = 2;
      await s;
      expect((await row(p.id)).stock).to.equal(1);
      await p.save();
      expect((await row(p.id)).stock).to.equal(2);
      // 2. reassigned in flight to what is being written: clean
      p.stock = 3;
      s = p.save();
      p.stock = 3;
      await s;
      const { count } = await countQueries(d.knex, () => p.save());
      expect(count).to.equal(0);
      // 3. reassigned in flight back to the old baseline value
      p.stock = 4;
      s = p.save();
      p.stock = 3;
      await s;
      expect((await row(p.id)).stock).to.equal(4);
      await p.save();
      expect((await row(p.id)).stock).to.equal(3);
      // 4. another field assigned in flight
      p.stock = 5;
      s = p.save();
      p.name = 'other';
      await s;
      await p.save();
      const r = await row(p.id);
      expect([r.stock, r.name, Number(r.version)]).to.deep.equal([5, 'other', p.version]);
      // 5. another field assigned and reverted in flight, plus the saved one
      p.stock = 6;
      p.price = 2.5;
      s = p.save();
      p.description = 'tmp';
      p.description = '';
      await s;
      const c2 = await countQueries(d.knex, () => p.save());
      expect(c2.count).to.equal(0);
    });

    it('save({ fields }) writes only those; the rest stay dirty and are written next', async () => {
      const P = suite.Product;
      const p = await P.create({ name: 'a' });
      p.name = 'b';
      p.stock = 9;
      p.price = 1.25;
      await p.save({ fields: ['stock'] });
      let r = await row(p.id);
      expect([r.name, r.stock, Number(r.price)]).to.deep.equal(['a', 9, 0]);
      await p.save({ fields: ['name', 'price'] });
      r = await row(p.id);
      expect([r.name, r.stock, Number(r.price)]).to.deep.equal(['b', 9, 1.25]);
      const { count } = await countQueries(d.knex, () => p.save());
      expect(count).to.equal(0);
      // fields option while another save of the same instance is queued
      p.name = 'c';
      p.stock = 10;
      const s1 = p.save({ fields: ['name'] });
      const s2 = p.save({ fields: ['stock'] });
      await Promise.all([s1, s2]);
      r = await row(p.id);
      expect([r.name, r.stock, Number(r.version)]).to.deep.equal(['c', 10, p.version]);
    });

    it('a failed save leaves the instance as it was (dirty, same version)', async () => {
      const P = suite.Product;
      const p = await P.create({ name: 'a' });
      const other = await P.get(p.id);
      other.stock = 1;
      await other.save();
      p.stock = 2;
      p.name = 'z';
      const v = p.version;
      await rejection(p.save(), RecordModifiedError);
      expect([p.stock, p.name, p.version]).to.deep.equal([2, 'z', v]);
      await p.refresh();
      p.stock = 2;
      await p.save();
      expect((await row(p.id)).stock).to.equal(2);
    });
  });

  describe('mutable JSON field', () => {
    const table = 'shape_things';
    beforeEach(() => createEverythingTable(d.knex, table));

    it('a document changed in place, also while a save is in flight, is written', async () => {
      const Thing = everythingModel(d.db, table);
      const t = await Thing.create({ title: 't', data: { a: 1 } });
      (t.data as { a: number }).a = 2;
      t.count = 1;
      await t.save();
      const s = t.save();
      (t.data as { a: number }).a = 3;
      await s;
      await t.save();
      const r = await d.knex(table).where({ id: t.id }).first();
      const data = typeof r.data === 'string' ? JSON.parse(r.data) : r.data;
      expect([data, r.count, Number(r.version)]).to.deep.equal([{ a: 3 }, 1, t.version]);
      t.count = 2;
      const p = t.save();
      (t.data as { a: number }).a = 4;
      await p;
      await t.save();
      const r2 = await d.knex(table).where({ id: t.id }).first();
      const data2 = typeof r2.data === 'string' ? JSON.parse(r2.data) : r2.data;
      expect([data2, r2.count]).to.deep.equal([{ a: 4 }, 2]);
    });
  });

  describe('one model class on two databases', () => {
    const table = 'shape_two_dbs';
    let other: Database;
    beforeEach(async () => {
      other = connect(sqliteUrl('shapes_two'));
      await createProductTable(d.knex, table);
      await createProductTable(other.knex, table);
    });
    afterEach(() => other.close());

    it('each database gets its own UPDATE text, saves interleaved', async () => {
      const kind = VERSION_KINDS[1]!;
      const P = productModel(d.db, table, kind);
      const a = await P.create({ name: 'a' });
      P.bind(other);
      const b = await P.create({ name: 'b' });
      for (let i = 1; i <= 3; i++) {
        P.bind(d.db);
        a.stock = i;
        await a.save();
        P.bind(other);
        b.stock = i * 10;
        await b.save();
      }
      const ra = await d.knex(table).where({ id: a.id }).first();
      const rb = await other.knex(table).where({ id: b.id }).first();
      expect([ra.stock, Number(ra.version)]).to.deep.equal([3, a.version]);
      expect([rb.stock, Number(rb.version)]).to.deep.equal([30, b.version]);
    });
  });
});
