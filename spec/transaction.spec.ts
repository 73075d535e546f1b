import { expect } from 'chai';
import { RecordModifiedError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';

class Boom extends Error {}

forEachDialect('db.transaction()', (d) => {
  const table = 'trx_products';
  let Product: ReturnType<typeof productModel>;

  beforeEach(async () => {
    await createProductTable(d.knex, table);
    Product = productModel(d.db, table, VERSION_KINDS[0]!);
  });

  async function committedName(id: number): Promise<string | undefined> {
    return (await d.knex(table).where({ id }).first())?.name;
  }

  it('every model call inside the callback, however deep, joins the transaction; commit makes it visible', async () => {
    const p = await Product.create({ name: 'before' });
    const other = d.connectAgain();
    async function deepHelper(id: number): Promise<void> {
      const q = await Product.get(id);
      q.name = 'inside';
      await q.save();
    }
    const txIds = new Set<unknown>();
    const listener = (q: { __knexTxId?: unknown }) => txIds.add(q.__knexTxId);
    d.knex.on('query', listener);
    const result = await d.db.transaction(async () => {
      await deepHelper(p.id);
      await Product.create({ name: 'created inside' });
      // Not visible to another connection before commit.
      expect((await other.knex(table).where({ id: p.id }).first()).name).to.equal('before');
      return 42;
    });
    d.knex.off('query', listener);
    expect(result).to.equal(42);
    expect([...txIds].filter((t) => t !== undefined)).to.have.length(1);
    expect(txIds.has(undefined)).to.equal(false);
    expect(await committedName(p.id)).to.equal('inside');
    expect(await Product.query().count()).to.equal(2);
  });

  it('rolls back when the callback throws, and rethrows', async () => {
    const p = await Product.create({ name: 'before' });
    await rejection(
      d.db.transaction(async () => {
        const q = await Product.get(p.id);
        q.name = 'doomed';
        await q.save();
        throw new Boom('no');
      }),
      Boom,
    );
    expect(await committedName(p.id)).to.equal('before');
  });

  it('after a rollback, a saved instance has its old version and unsaved changes back, and saves without a spurious conflict', async () => {
    const p = await Product.create({ name: 'v1' });
    const version = p.version;
    p.name = 'pending';
    await rejection(
      d.db.transaction(async () => {
        await p.save();
        expect(p.version).not.to.equal(version);
        throw new Boom('rollback');
      }),
      Boom,
    );
    expect(p.version).to.equal(version);
    expect(p.name).to.equal('pending');
    await p.save();
    expect(await committedName(p.id)).to.equal('pending');
  });

  it('after a rollback, an instance created inside is unsaved again (no primary key) and inserts on save', async () => {
    let created: InstanceType<typeof Product> | undefined;
    await rejection(
      d.db.transaction(async () => {
        created = await Product.create({ name: 'ghost' });
        expect(created.id).to.be.a('number');
        throw new Boom('rollback');
      }),
      Boom,
    );
    expect(created!.id).to.equal(undefined);
    expect(created!.version).to.equal(undefined);
    expect(await Product.query().count()).to.equal(0);
    await created!.save();
    expect(await committedName(created!.id)).to.equal('ghost');
  });

  it('after a rollback, an instance deleted inside is a saved row again', async () => {
    const p = await Product.create({ name: 'kept' });
    await rejection(
      d.db.transaction(async () => {
        await p.delete();
        throw new Boom('rollback');
      }),
      Boom,
    );
    p.name = 'still here';
    await p.save();
    expect(await committedName(p.id)).to.equal('still here');
  });

  it('a nested transaction is a savepoint: its rollback undoes only its own writes and instances', async () => {
    const a = await Product.create({ name: 'a' });
    const b = await Product.create({ name: 'b' });
    const bVersion = b.version;
    await d.db.transaction(async () => {
      a.name = 'a2';
      await a.save();
      await rejection(
        d.db.transaction(async () => {
          b.name = 'b2';
          await b.save();
          throw new Boom('inner');
        }),
        Boom,
      );
      expect(b.version).to.equal(bVersion);
      expect(b.name).to.equal('b2');
    });
    expect(await committedName(a.id)).to.equal('a2');
    expect(await committedName(b.id)).to.equal('b');
    await b.save();
    expect(await committedName(b.id)).to.equal('b2');
  });

  it('an outer rollback also restores instances saved in a committed inner transaction', async () => {
    const p = await Product.create({ name: 'x' });
    const version = p.version;
    await rejection(
      d.db.transaction(async () => {
        await d.db.transaction(async () => {
          p.name = 'inner';
          await p.save();
        });
        throw new Boom('outer');
      }),
      Boom,
    );
    expect(p.version).to.equal(version);
    expect(await committedName(p.id)).to.equal('x');
  });

  // Knex resolves a transaction that its callback rolled back itself
  // (trx.rollback() with no error, or a thrown undefined) as if it were done.
  // With versions the database hands out again (1, 2, 3...), an instance
  // left holding a rolled-back version would match the next writer's row.
  it("a rollback the callback asks for itself (trx.rollback(), in a savepoint too) restores instances like a thrown error", async () => {
    const Counted = productModel(d.db, table, VERSION_KINDS[1]!);
    const p = await Counted.create({ name: 'p', stock: 10 });
    const v0 = p.version;
    const other = await Counted.get(p.id);
    const result = await d.db.transaction(async (trx) => {
      p.stock = 9;
      await p.save();
      await trx.rollback();
      return 'done';
    });
    expect(result).to.equal(undefined);
    expect(p.version).to.equal(v0);
    expect(p.stock).to.equal(9);
    await d.db.transaction(async () => {
      await d.db.transaction(async (savepoint) => {
        p.name = 'in the savepoint';
        await p.save();
        await savepoint.rollback();
      });
      expect(p.version).to.equal(v0);
    });
    // Thrown undefined: Knex rolls back and resolves; transaction() rethrows it like any other.
    const thrown = await d.db
      .transaction(async () => {
        await p.save();
        throw undefined;
      })
      .then(
        () => 'resolved',
        (err: unknown) => ['rejected', err],
      );
    expect(thrown).to.deep.equal(['rejected', undefined]);
    expect(p.version).to.equal(v0);
    expect(p.name).to.equal('in the savepoint');
    // Someone else writes version 2; the copy that never committed must conflict, not overwrite it.
    other.stock = 5;
    await other.save();
    expect(other.version).to.equal(v0 + 1);
    await rejection(p.save(), RecordModifiedError);
    expect((await d.knex(table).where({ id: p.id }).first()).stock).to.equal(5);
  });

  // PostgreSQL aborts a transaction at its first failed statement, even one the
  // callback catches, and then answers COMMIT with ROLLBACK, not an error.
  // The others fail only the statement, and the transaction commits.
  it('a failed statement the callback catches: either the transaction commits, or transaction() rejects and restores instances', async () => {
    const endsTransaction = d.pick({ sqlite: false, postgres: true, mysql: false });
    const p = await Product.create({ name: 'before' });
    const version = p.version;
    let caught: unknown;
    const outcome = await d.db
      .transaction(async () => {
        p.name = 'inside';
        await p.save();
        await Product.create({ id: p.id, name: 'duplicate key' }).catch((err: unknown) => (caught = err));
        return 'done';
      })
      .then(
        (value) => ({ ok: true, value }),
        (error: unknown) => ({ ok: false, error }),
      );
    expect(caught).to.be.instanceOf(Error);
    if (endsTransaction) {
      expect(outcome).to.deep.equal({ ok: false, error: caught });
      expect(await committedName(p.id)).to.equal('before');
      expect(p.version).to.equal(version);
      expect(p.name).to.equal('inside');
      await p.save();
      expect(await committedName(p.id)).to.equal('inside');
    } else {
      expect(outcome).to.deep.equal({ ok: true, value: 'done' });
      expect(await committedName(p.id)).to.equal('inside');
      expect(p.version).not.to.equal(version);
    }
    // Inside a savepoint that is rolled back, the same failure leaves the transaction usable everywhere.
    await d.db.transaction(async () => {
      p.name = 'after the savepoint';
      await p.save();
      await d.db.transaction(() => Product.create({ id: p.id, name: 'duplicate key' })).catch(() => undefined);
    });
    expect(await committedName(p.id)).to.equal('after the savepoint');
  });

  it('a conflict inside a transaction leaves the instance unchanged and can roll the transaction back', async () => {
    const p = await Product.create({ name: 'x' });
    const stale = await Product.get(p.id);
    p.name = 'y';
    await p.save();
    stale.name = 'z';
    const before = stale.toJSON();
    await rejection(d.db.transaction(() => stale.save()), RecordModifiedError);
    expect(stale.toJSON()).to.deep.equal(before);
  });

  it('concurrent transactions do not see each other\'s scope', async () => {
    const p = await Product.create({ name: 'p' });
    const q = await Product.create({ name: 'q' });
    const seen: unknown[] = [];
    d.knex.on('query', (e: { sql: string; __knexTxId?: unknown }) => {
      if (/^update/i.test(e.sql)) seen.push(e.__knexTxId);
    });
    // SQLite has one writer: run them one after the other there, interleaved elsewhere.
    const run = (inst: typeof p, name: string) =>
      d.db.transaction(async () => {
        inst.name = name;
        await inst.save();
      });
    if (d.name === 'sqlite') {
      await run(p, 'p2');
      await run(q, 'q2');
    } else {
      await Promise.all([run(p, 'p2'), run(q, 'q2')]);
    }
    d.knex.removeAllListeners('query');
    expect(new Set(seen).size).to.equal(2);
    expect(seen).not.to.include(undefined);
  });
});
