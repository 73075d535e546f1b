import { expect } from 'chai';
import {
  AutoField,
  BatchConflictError,
  CharField,
  ConditionalVersionField,
  disableConcurrency,
  IntegerField,
  Model,
  RecordDeletedError,
  RecordModifiedError,
  retryOnConflict,
  UsageError,
  ValidationError,
} from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, forEachVersionKind, productModel, VERSION_KINDS } from './support/models';
import { countQueries, recreateTable } from './support/schema';

// The batch's UPDATE starts with its CTE of rows (WITH kc_batch ... UPDATE).
const isUpdate = (sql: string) => /^update |^with kc_batch\b/i.test(sql);

forEachDialect('Model.saveAll(): batched compare-and-swap', (d) => {
  forEachVersionKind(d, 'save_all', (suite) => {
    const { kind, table } = suite;

    /** `n` saved products, loaded afresh. */
    async function products(n: number) {
      const made = await suite.Product.createAll(Array.from({ length: n }, (_, i) => ({ name: `p${i}`, stock: i })));
      return suite.Product.query().whereIn('id', made.map((p) => p.id)).orderBy('id');
    }

    /** Another writer's change of row `id`, behind the instances' back. */
    async function changeBehind(id: number) {
      const other = await suite.Product.get(id);
      other.description = 'theirs';
      other.price += 1;
      await other.save();
      return other.version;
    }

    it('writes every changed instance, each checked against its own version, and skips unchanged ones', async () => {
      const ps = await products(6);
      const before = ps.map((p) => p.version);
      ps.forEach((p, i) => i !== 2 && (p.stock = 100 + i));
      const { sql } = await countQueries(d.knex, () => suite.Product.saveAll(ps));
      const updates = sql.filter(isUpdate);
      // Known next versions: one UPDATE (FROM VALUES; MySQL: JOIN, after a locking read); a trigger's: row by row.
      const expected = kind.keptByDatabase ? 5 : d.pick({ sqlite: 1, postgres: 1, mysql: 1 });
      expect(updates, updates.join('\n')).to.have.length(expected);
      for (const [i, p] of ps.entries()) {
        const row = await d.knex(table).where({ id: p.id }).first();
        expect(Number(row.version)).to.equal(p.version);
        if (i === 2) {
          expect(p.version).to.equal(before[i]);
          expect(row.stock).to.equal(2);
        } else {
          expect(kind.isNext(before[i]!, p.version), `${before[i]} -> ${p.version}`).to.equal(true);
          expect(row.stock).to.equal(100 + i);
        }
      }
      // Saved: nothing left to write.
      const again = await countQueries(d.knex, () => suite.Product.saveAll(ps));
      expect(again.count).to.equal(0);
    });

    it('reports every changed and every deleted row at once and, atomic, writes nothing and leaves every instance as it was', async () => {
      const ps = await products(5);
      for (const p of ps) p.stock += 10;
      const theirs = await changeBehind(ps[1]!.id);
      await d.knex(table).where({ id: ps[3]!.id }).del();
      const versions = ps.map((p) => p.version);
      const err = await rejection(suite.Product.saveAll(ps), BatchConflictError);
      expect(err.atomic).to.equal(true);
      expect(err.savedCount).to.equal(0);
      expect(err.conflicts.map((c) => c.pk)).to.deep.equal([ps[1]!.id, ps[3]!.id]);
      expect(err.conflicts[0]).to.be.instanceOf(RecordModifiedError).and.not.instanceOf(RecordDeletedError);
      expect(err.conflicts[0]!.actualVersion).to.equal(theirs);
      expect(err.conflicts[0]!.target).to.equal(ps[1]);
      expect(err.conflicts[0]!.conflictReport?.current).to.include({ description: 'theirs' });
      expect(err.conflicts[1]).to.be.instanceOf(RecordDeletedError);
      expect(err.deleted.map((c) => c.target)).to.deep.equal([ps[3]]);
      expect(err.message).to.match(/2 of 5 row\(s\) were 1 changed and 1 deleted by someone else/).and.match(/Nothing was written/);
      // Nothing written, every instance as it was (same versions, still dirty).
      for (const [i, p] of ps.entries()) {
        expect(p.version).to.equal(versions[i]);
        if (i === 3) continue;
        const row = await d.knex(table).where({ id: p.id }).first();
        expect(row.stock, `row ${i}`).to.equal(i);
      }
      const stats = d.db.stats();
      expect(stats.byModel[suite.Product.name]?.conflicts).to.be.greaterThan(0);
      // The untouched ones save as they are.
      await suite.Product.saveAll([ps[0]!, ps[2]!, ps[4]!]);
      expect((await d.knex(table).where({ id: ps[4]!.id }).first()).stock).to.equal(14);
    });

    it('atomic: false writes every row still at its version and reports the others, which stay as they were', async () => {
      const ps = await products(4);
      for (const p of ps) p.stock += 10;
      await changeBehind(ps[2]!.id);
      const before = ps.map((p) => p.version);
      const err = await rejection(suite.Product.saveAll(ps, { atomic: false }), BatchConflictError);
      expect(err.atomic).to.equal(false);
      expect(err.savedCount).to.equal(3);
      expect(err.conflicts.map((c) => c.target)).to.deep.equal([ps[2]]);
      expect(err.message).to.match(/other 3 changed instance\(s\) were saved/);
      for (const [i, p] of ps.entries()) {
        const row = await d.knex(table).where({ id: p.id }).first();
        if (i === 2) {
          expect(p.version).to.equal(before[i]);
          expect(row.stock).to.equal(2);
        } else {
          expect(kind.isNext(before[i]!, p.version)).to.equal(true);
          expect(Number(row.version)).to.equal(p.version);
          expect(row.stock).to.equal(10 + i);
        }
      }
      // The refused one: refresh, re-apply, save.
      await ps[2]!.refresh();
      ps[2]!.stock += 10;
      await suite.Product.saveAll([ps[2]!], { atomic: false });
      expect((await d.knex(table).where({ id: ps[2]!.id }).first()).stock).to.equal(12);
    });

    it('inside db.transaction() it joins it, and a rollback restores every instance it saved', async () => {
      const ps = await products(3);
      const before = ps.map((p) => p.version);
      for (const p of ps) p.stock += 5;
      const boom = new Error('boom');
      const err = await rejection(
        d.db.transaction(async () => {
          await suite.Product.saveAll(ps);
          expect(ps.every((p, i) => p.version !== before[i])).to.equal(true);
          throw boom;
        }),
        Error,
      );
      expect(err).to.equal(boom);
      for (const [i, p] of ps.entries()) {
        expect(p.version).to.equal(before[i]);
        expect((await d.knex(table).where({ id: p.id }).first()).stock).to.equal(i);
      }
      // Still dirty: saved again, outside, they write.
      await suite.Product.saveAll(ps);
      expect((await d.knex(table).where({ id: ps[2]!.id }).first()).stock).to.equal(7);
    });

    it('an atomic batch refused inside a transaction undoes only itself: the transaction goes on and commits', async () => {
      const ps = await products(3);
      await changeBehind(ps[0]!.id);
      for (const p of ps) p.stock += 1;
      const other = await suite.Product.create({ name: 'other' });
      await d.db.transaction(async () => {
        const err = await rejection(suite.Product.saveAll(ps), BatchConflictError);
        expect(err.conflicts).to.have.length(1);
        other.stock = 42;
        await other.save();
      });
      expect((await d.knex(table).where({ id: other.id }).first()).stock).to.equal(42);
      expect((await d.knex(table).where({ id: ps[1]!.id }).first()).stock).to.equal(1);
    });

    it('a value changed while the batch is in flight is not dropped; a save() issued meanwhile waits for it', async () => {
      const ps = await products(2);
      ps[0]!.stock = 50;
      ps[1]!.stock = 60;
      let changedInFlight = false;
      const listener = (q: { sql: string }) => {
        if (!changedInFlight && isUpdate(q.sql)) {
          changedInFlight = true;
          ps[0]!.name = 'renamed in flight';
          ps[1]!.stock = 61;
        }
      };
      d.knex.on('query', listener);
      let saving: Promise<void>;
      try {
        const batch = suite.Product.saveAll(ps);
        saving = ps[1]!.save();
        await batch;
      } finally {
        d.knex.off('query', listener);
      }
      expect(changedInFlight).to.equal(true);
      await saving;
      const row0 = await d.knex(table).where({ id: ps[0]!.id }).first();
      expect(row0.stock).to.equal(50);
      expect(row0.name).to.equal('p0');
      // Still unsaved, and written by the next save.
      await ps[0]!.save();
      expect((await d.knex(table).where({ id: ps[0]!.id }).first()).name).to.equal('renamed in flight');
      const row1 = await d.knex(table).where({ id: ps[1]!.id }).first();
      expect([row1.stock, Number(row1.version)]).to.deep.equal([61, ps[1]!.version]);
    });

    it('retryOnConflict() runs an atomic batch refused for a changed row again (it wrote nothing), never a partial one', async () => {
      const ps = await products(2);
      await changeBehind(ps[1]!.id);
      let runs = 0;
      await retryOnConflict(async () => {
        runs++;
        const fresh = runs === 1 ? ps : await suite.Product.query().whereIn('id', ps.map((p) => p.id)).orderBy('id');
        for (const p of fresh) p.stock += 1;
        await suite.Product.saveAll(fresh);
      });
      expect(runs).to.equal(2);
      expect((await d.knex(table).whereIn('id', ps.map((p) => p.id)).orderBy('id')).map((r) => r.stock)).to.deep.equal([1, 2]);
      await changeBehind(ps[0]!.id);
      const stale = await suite.Product.query().whereIn('id', ps.map((p) => p.id)).orderBy('id');
      await changeBehind(ps[0]!.id);
      for (const p of stale) p.stock += 1;
      let partialRuns = 0;
      await rejection(
        retryOnConflict(() => {
          partialRuns++;
          return suite.Product.saveAll(stale, { atomic: false });
        }),
        BatchConflictError,
      );
      expect(partialRuns).to.equal(1);
    });

    it('under disableConcurrency() rows go unchecked one by one, and still land', async () => {
      const ps = await products(2);
      await changeBehind(ps[0]!.id);
      for (const p of ps) p.stock = 9;
      await disableConcurrency(suite.Product, () => suite.Product.saveAll(ps));
      for (const p of ps) {
        const row = await d.knex(table).where({ id: p.id }).first();
        expect([row.stock, Number(row.version)]).to.deep.equal([9, p.version]);
      }
    });
  });

  describe('what it refuses, before any SQL', () => {
    const table = 'save_all_refusals';
    let Product: ReturnType<typeof productModel>;
    beforeEach(async () => {
      const kind = VERSION_KINDS[1]!;
      await createProductTable(d.knex, table, kind);
      Product = productModel(d.db, table, kind);
    });

    it('bad lists, other models, new, deleted and repeated instances, unknown options, invalid values', async () => {
      const [a, b] = await Product.createAll([{ name: 'a' }, { name: 'b' }]);
      const gone = await Product.create({ name: 'gone' });
      await gone.delete();
      a!.stock = 1;
      class Other extends Model {
        static table = table;
        static fields = { id: new AutoField(), name: new CharField({ maxLength: 100 }), version: new ConditionalVersionField({ checkFields: ['name'] }) };
        declare id: number;
        declare name: string;
        declare version: number;
      }
      Other.bind(d.db);
      const { count } = await countQueries(d.knex, async () => {
        await rejection(() => Product.saveAll(a as never), UsageError);
        await rejection(() => Product.saveAll([a!, new Other() as never]), UsageError);
        await rejection(() => Product.saveAll([a!, a!]), UsageError);
        await rejection(() => Product.saveAll([a!, new Product()]), UsageError);
        await rejection(() => Product.saveAll([a!, gone]), UsageError);
        await rejection(() => Product.saveAll([a!], { atomc: true } as never), UsageError);
        await rejection(() => Product.saveAll([a!], { atomic: 'yes' } as never), UsageError);
        (b as unknown as { stok: number }).stok = 3;
        await rejection(() => Product.saveAll([a!, b!]), ValidationError);
        delete (b as unknown as { stok?: number }).stok;
        await rejection(() => Product.createAll([{ name: 'ok' }, { nme: 'typo' } as never]), ValidationError);
        await rejection(() => Product.createAll([{ name: 'ok' }, { version: 3 } as never]), ValidationError);
        await rejection(() => Product.createAll({ name: 'x' } as never), UsageError);
      });
      expect(count).to.equal(0);
      expect(a!.stock).to.equal(1);
    });
  });

  describe('ConditionalVersionField in a batch', () => {
    const table = 'save_all_conditional';
    class Doc extends Model {
      static table = table;
      static fields = {
        id: new AutoField(),
        name: new CharField({ maxLength: 100 }),
        views: new IntegerField({ default: 0 }),
        version: new ConditionalVersionField({ checkFields: ['name'] }),
      };
      declare id: number;
      declare name: string;
      declare views: number;
      declare version: number;
    }
    beforeEach(async () => {
      await recreateTable(d.knex, table, (t) => {
        t.increments('id');
        t.string('name', 100).notNullable();
        t.integer('views').notNullable().defaultTo(0);
        t.bigInteger('version').notNullable().defaultTo(0);
      });
      Doc.bind(d.db);
    });

    it('raises the version only of rows whose tracked fields changed, and checks every one', async () => {
      const [a, b] = await Doc.createAll([{ name: 'a' }, { name: 'b' }]);
      const [va, vb] = [a!.version, b!.version];
      a!.views = 5; // untracked: version stays
      b!.name = 'B'; // tracked: version rises
      await Doc.saveAll([a!, b!]);
      expect(a!.version).to.equal(va);
      expect(b!.version).to.equal(vb + 1);
      const rows = await d.knex(table).orderBy('id');
      expect(rows.map((r) => [r.views, r.name, Number(r.version)])).to.deep.equal([
        [5, 'a', va],
        [0, 'B', vb + 1],
      ]);
    });
  });
});

forEachDialect('Model.createAll()', (d) => {
  const table = 'create_all';
  let Product: ReturnType<typeof productModel>;
  beforeEach(async () => {
    await createProductTable(d.knex, table, VERSION_KINDS[1]);
    Product = productModel(d.db, table, VERSION_KINDS[1]!);
  });

  it('inserts every row in one transaction and returns the instances in order, keys and versions set', async () => {
    const { sql, result } = await countQueries(d.knex, () => Product.createAll([{ name: 'a', stock: 1 }, { name: 'b' }, { name: 'c', stock: 3 }]));
    expect(result.map((p) => p.name)).to.deep.equal(['a', 'b', 'c']);
    expect(new Set(result.map((p) => p.id)).size).to.equal(3);
    expect(sql.filter((s) => /^insert /i.test(s))).to.have.length(3);
    const rows = await d.knex(table).orderBy('id');
    expect(rows.map((r) => [r.id, r.name, r.stock, Number(r.version)])).to.deep.equal(result.map((p) => [p.id, p.name, p.stock, p.version]));
    result[1]!.stock = 7;
    await result[1]!.save();
  });

  it('all or nothing: a failing row inserts none, and inside a transaction a rollback makes them new again', async () => {
    const first = await Product.create({ name: 'first' });
    await rejection(Product.createAll([{ name: 'x' }, { id: first.id, name: 'duplicate key' }]), Error);
    expect(await d.knex(table).count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 1);
    let made: InstanceType<typeof Product>[] = [];
    await rejection(
      d.db.transaction(async () => {
        made = await Product.createAll([{ name: 'y' }, { name: 'z' }]);
        throw new Error('roll back');
      }),
      Error,
    );
    expect(made.map((p) => p.id)).to.deep.equal([undefined, undefined]);
    await made[0]!.save();
    expect(await d.knex(table).count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 2);
  });
});
