import { expect } from 'chai';
import type { Knex } from 'knex';
import { connect, Database, type IsolationLevel, RecordModifiedError, RetryableError, retryOnConflict, UsageError } from '../lib';
import { describeCluster } from './support/clusters';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, ProductClass, VERSION_KINDS } from './support/models';
import { countQueries } from './support/schema';
import { gate, settle } from './support/session';

const LEVELS: readonly IsolationLevel[] = ['serializable', 'repeatable read', 'read committed'];
const KIND = VERSION_KINDS[1]!;
type Gate = ReturnType<typeof gate>;

/**
 * `connect(url, { isolation })` and `db.transaction(fn, { isolation })`: the
 * level each transaction really runs at, as the database reports it from
 * inside, on every dialect; bad values refused before any SQL.
 */
forEachDialect('isolation levels', (d) => {
  const table = 'isolation_products';

  /** The level the transaction `trx` runs at, as the database reports it. */
  const levelInside = d.pick<(trx: Knex.Transaction) => Promise<string>>({
    // SQLite has no levels: a transaction sees one snapshot and writes alone
    // (read_uncommitted only matters between connections of a shared cache).
    sqlite: async (trx) => ((await trx.raw('PRAGMA read_uncommitted'))[0].read_uncommitted === 0 ? 'serializable' : 'read uncommitted'),
    postgres: async (trx) => (await trx.raw("SELECT current_setting('transaction_isolation') AS l")).rows[0].l,
    // Observed rather than read from information_schema.INNODB_TRX, which
    // InnoDB caches for 100 ms (it would show an earlier transaction's level):
    // SERIALIZABLE's plain read locks the row; READ COMMITTED's next read sees
    // a commit made since; REPEATABLE READ's does not.
    mysql: async (trx) => {
      const stock = async (): Promise<number> => Number((await trx(table).where({ id: probe }).first()).stock);
      const first = await stock();
      const locked = await d.knex.raw(`SELECT id FROM ${table} WHERE id = ? FOR UPDATE NOWAIT`, [probe]).then(() => false, () => true);
      if (locked) return 'serializable';
      await d.knex(table).where({ id: probe }).increment('stock', 1);
      return (await stock()) === first ? 'repeatable read' : 'read committed';
    },
  });
  /** What each dialect gives for a level asked for: SQLite gives SERIALIZABLE to all. */
  const given = (level: IsolationLevel | undefined): string =>
    d.pick({ sqlite: 'serializable', postgres: level ?? 'read committed', mysql: level ?? 'repeatable read' });
  /** How the level reaches the database: SQLite is sent nothing. */
  const sent = d.pick<((level: string) => RegExp) | undefined>({
    sqlite: undefined,
    postgres: (level) => new RegExp(`^BEGIN TRANSACTION ISOLATION LEVEL ${level}`, 'i'),
    mysql: (level) => new RegExp(`^SET TRANSACTION ISOLATION LEVEL ${level}`, 'i'),
  });

  const opened: Database[] = [];
  const open = (isolation?: IsolationLevel): Database => {
    const db = connect(d.url, { isolation });
    opened.push(db);
    return db;
  };
  let probe = 0;
  before(async () => {
    await createProductTable(d.knex, table, KIND);
    probe = (await productModel(d.db, table, KIND).create({ name: 'probe', stock: 0 })).id;
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
  });

  for (const level of LEVELS) {
    it(`db.transaction(fn, { isolation: '${level}' }) runs at ${given(level)}`, async () => {
      const { result, sql } = await countQueries(d.knex, () => d.db.transaction((trx) => levelInside(trx), { isolation: level }));
      expect(result).to.equal(given(level));
      if (sent) expect(sql.some((s) => sent(level).test(s)), sql.join('; ')).to.equal(true);
      else expect(sql.filter((s) => /isolation/i.test(s))).to.deep.equal([]);
    });
  }

  it(`without the option, a transaction runs at the database's default (${given(undefined)})`, async () => {
    expect(await d.db.transaction((trx) => levelInside(trx))).to.equal(given(undefined));
  });

  it("connect(url, { isolation }) sets every transaction's level; one transaction's own option overrides it", async () => {
    const db = open('serializable');
    expect(await db.transaction((trx) => levelInside(trx))).to.equal(given('serializable'));
    expect(await db.transaction((trx) => levelInside(trx), { isolation: 'read committed' })).to.equal(given('read committed'));
    // Knex's own option passes through as before, and wins over the database's level too.
    if (d.name !== 'sqlite') expect(await db.transaction((trx) => levelInside(trx), { isolationLevel: 'repeatable read' })).to.equal('repeatable read');
  });

  it("connect(knex, { isolation }) works on a Knex instance you built, and the library's own savepoints run at the transaction's level", async () => {
    const db = connect(d.knex, { isolation: 'serializable' });
    const Product = productModel(db, table, KIND);
    const p = await Product.create({ name: 'in a savepoint', stock: 1 });
    const level = await db.transaction(async (trx) => {
      await db.transaction(async () => {
        p.stock = 2;
        await p.save();
      });
      return levelInside(trx);
    });
    expect(level).to.equal(given('serializable'));
    expect(Number((await d.knex(table).where({ id: p.id }).first()).stock)).to.equal(2);
  });

  it('a savepoint that asks for another level is refused (UsageError) before any SQL; the outer transaction goes on and commits', async () => {
    const Product = productModel(d.db, table, KIND);
    const p = await Product.create({ name: 'outer', stock: 1 });
    let ran = false;
    let refused: unknown;
    await d.db.transaction(async () => {
      refused = await d.db.transaction(async () => {
        ran = true;
      }, { isolation: 'serializable' }).catch((e: unknown) => e);
      // The same level as its transaction is no change, and is accepted.
      await d.db.transaction(async () => undefined, { isolation: undefined });
      p.stock = 3;
      await p.save();
    }, { isolation: 'read committed' });
    expect(refused).to.be.instanceOf(UsageError);
    expect((refused as Error).message).to.match(/savepoint.*'read committed'.*outermost/);
    expect(ran).to.equal(false);
    expect(Number((await d.knex(table).where({ id: p.id }).first()).stock)).to.equal(3);
    await d.db.transaction(async () => {
      await d.db.transaction(async () => undefined, { isolation: 'read committed' });
    }, { isolation: 'read committed' });
  });

  it('bad values are a UsageError before any SQL: an unknown level, a non-string, and isolation disagreeing with Knex\'s isolationLevel', async () => {
    for (const bad of ['snapshot', 'read uncommitted', 'SERIALIZABLE', 42, null]) {
      expect(() => connect(d.url, { isolation: bad as IsolationLevel })).to.throw(UsageError, /connect\(\): isolation must be one of 'serializable', 'repeatable read', 'read committed'/);
      let ran = false;
      const { result, count } = await countQueries(d.knex, () =>
        d.db.transaction(async () => {
          ran = true;
        }, { isolation: bad as IsolationLevel }).catch((e: unknown) => e),
      );
      expect(result, String(bad)).to.be.instanceOf(UsageError);
      expect([ran, count]).to.deep.equal([false, 0]);
    }
    const { result, count } = await countQueries(d.knex, () =>
      d.db.transaction(async () => undefined, { isolation: 'serializable', isolationLevel: 'read committed' }).catch((e: unknown) => e),
    );
    expect(result).to.be.instanceOf(UsageError);
    expect((result as Error).message).to.match(/disagree/);
    expect(count).to.equal(0);
  });
});

/**
 * PostgreSQL at SERIALIZABLE, the stand-in for CockroachDB and YugabyteDB
 * (which speak its protocol and report conflicts the same way): 40001 at
 * the UPDATE of a row changed since the transaction's snapshot, and at
 * COMMIT for write skew. Each is a `RetryableError` of the whole
 * transaction, instances restored, never success; `retryOnConflict()` runs
 * it again. On the replica cluster's primary.
 */
describeCluster('replicas', 'PostgreSQL SERIALIZABLE: 40001 at UPDATE and at COMMIT', (cluster) => {
  const table = 'serializable_products';
  let a: Database;
  let b: Database;
  let A: ProductClass;
  let B: ProductClass;
  const stockOf = async (id: number): Promise<number> => Number((await b.knex(table).where({ id }).first()).stock);

  beforeEach(async () => {
    a = connect(cluster().primary, { isolation: 'serializable' });
    b = connect(cluster().primary, { isolation: 'serializable' });
    await createProductTable(a.knex, table, KIND);
    A = productModel(a, table, KIND);
    B = productModel(b, table, KIND);
  });
  afterEach(async () => {
    await Promise.all([a.close(), b.close()]);
  });

  /** A's transaction takes its snapshot, B commits a save of `id`, then A saves its copy loaded before. */
  const staleSaveInSnapshot = async (id: number, mine: InstanceType<ProductClass>, after?: () => Promise<unknown>) =>
    a.transaction(async () => {
      await A.query().where('id', '<>', id).count();
      const theirs = await B.get(id);
      theirs.stock += 100;
      await theirs.save();
      mine.stock += 1;
      await mine.save();
      await after?.();
    });

  it('a compare-and-swap of a row changed since the snapshot fails at the UPDATE: RetryableError (serialization, statement), instance restored', async () => {
    const mine = await A.create({ name: 'x', stock: 1 });
    const version = mine.version;
    const err = await rejection(staleSaveInSnapshot(mine.id, mine), RetryableError);
    expect([err.code, err.reason, err.phase]).to.deep.equal(['40001', 'serialization', 'statement']);
    expect(mine.version).to.equal(version);
    expect(await stockOf(mine.id)).to.equal(101);
    // Outside the transaction the same stale copy is the ordinary conflict.
    await rejection(mine.save(), RecordModifiedError);
  });

  it('fn catches the 40001 and goes on (a save, its own insert): each is refused with it, and COMMIT (which PostgreSQL answers with ROLLBACK) is no success', async () => {
    const mine = await A.create({ name: 'x', stock: 1 });
    const other = await A.create({ name: 'other', stock: 1 });
    const seen: unknown[] = [];
    const err = await rejection(
      a.transaction(async (trx) => {
        await staleSaveInSnapshot(mine.id, mine).catch((e: unknown) => seen.push(e));
        other.stock = 9;
        await other.save().catch((e: unknown) => seen.push(e));
        await trx(table).insert({ name: 'after', description: '', stock: 1, version: 1 }).catch((e: unknown) => seen.push(e));
        return 'fn returned normally';
      }),
      RetryableError,
    );
    expect(seen).to.deep.equal([err, err, err]);
    expect(err.code).to.equal('40001');
    expect(await stockOf(other.id)).to.equal(1);
    expect(Number((await b.knex(table).where({ name: 'after' }).count({ n: '*' }))[0]!.n)).to.equal(0);
  });

  it('Promise.all of the stale save and a fresh one: the transaction rejects with the 40001, both instances restored, nothing written', async () => {
    const mine = await A.create({ name: 'x', stock: 1 });
    const fresh = await A.create({ name: 'fresh', stock: 1 });
    const versions = [mine.version, fresh.version];
    const err = await rejection(
      a.transaction(async () => {
        await A.query().where('id', fresh.id).count();
        const theirs = await B.get(mine.id);
        theirs.stock += 100;
        await theirs.save();
        mine.stock = 5;
        fresh.stock = 5;
        await Promise.all([fresh.save(), mine.save()]);
      }),
      RetryableError,
    );
    expect(err.code).to.equal('40001');
    expect([mine.version, fresh.version]).to.deep.equal(versions);
    expect(await stockOf(fresh.id)).to.equal(1);
  });

  it('the 40001 inside a savepoint that fn catches still ends the whole transaction', async () => {
    const mine = await A.create({ name: 'x', stock: 1 });
    const other = await A.create({ name: 'other', stock: 1 });
    const err = await rejection(
      a.transaction(async () => {
        other.stock = 7;
        await other.save();
        await a.transaction(() => staleSaveInSnapshot(mine.id, mine)).catch(() => undefined);
      }),
      RetryableError,
    );
    expect(err.code).to.equal('40001');
    expect(await stockOf(other.id)).to.equal(1);
  });

  it('retryOnConflict() runs it again from a fresh snapshot and it lands; with every run interfered with, the last RetryableError after the attempts, instances as they were', async () => {
    const row = await A.create({ name: 'x', stock: 1 });
    let attempt = 0;
    await retryOnConflict(() =>
      a.transaction(async () => {
        attempt++;
        await A.query().count();
        const p = await A.get(row.id);
        if (attempt === 1) {
          const theirs = await B.get(row.id);
          theirs.stock += 1;
          await theirs.save();
        }
        p.stock += 10;
        await p.save();
      }),
    );
    expect(attempt).to.equal(2);
    expect(await stockOf(row.id)).to.equal(12);
    const loaded: [InstanceType<ProductClass>, number][] = [];
    const err = await rejection(
      retryOnConflict(
        async () => {
          const mine = await A.get(row.id);
          loaded.push([mine, mine.version]);
          await staleSaveInSnapshot(row.id, mine);
        },
        { attempts: 3, delayMs: () => 0 },
      ),
      RetryableError,
    );
    expect(err.code).to.equal('40001');
    expect(loaded).to.have.length(3);
    for (const [mine, version] of loaded) expect(mine.version).to.equal(version);
    expect(await stockOf(row.id)).to.equal(312);
  });

  // Two doctors on call; each goes off call if the other is still on. Each
  // transaction reads both rows and writes a different one, so no row is
  // written twice: only SERIALIZABLE sees the skew, at COMMIT.
  it('write skew fails one transaction at COMMIT: RetryableError (serialization, commit), its instance restored, the invariant holds', async () => {
    const [d1, d2] = [await A.create({ name: 'on call 1', stock: 1 }), await A.create({ name: 'on call 2', stock: 1 })];
    // Both read, both write, and only then does either commit.
    const [aRead, bRead, aWrote, bWrote, aDone] = [gate(), gate(), gate(), gate(), gate()];
    const copies: { a?: InstanceType<ProductClass>; b?: InstanceType<ProductClass> } = {};
    const goOffCall = (db: Database, P: ProductClass, mineId: number, gates: { read: Gate; otherRead: Gate; before: Gate | undefined; wrote: Gate; after: Gate }) =>
      db.transaction(async () => {
        const rows = await P.query().whereIn('id', [d1.id, d2.id]);
        const mine = rows.find((r) => r.id === mineId)!;
        if (P === A) copies.a = mine;
        else copies.b = mine;
        gates.read.open();
        await gates.otherRead.opened;
        await gates.before?.opened;
        if (rows.filter((r) => r.stock === 1).length === 2) {
          mine.stock = 0;
          await mine.save();
        }
        gates.wrote.open();
        await gates.after.opened;
      });
    const outcomes = await Promise.all([
      settle(goOffCall(a, A, d1.id, { read: aRead, otherRead: bRead, before: undefined, wrote: aWrote, after: bWrote })).finally(() => [aRead, aWrote, aDone].forEach((g) => g.open())),
      settle(goOffCall(b, B, d2.id, { read: bRead, otherRead: aRead, before: aWrote, wrote: bWrote, after: aDone })).finally(() => [bRead, bWrote].forEach((g) => g.open())),
    ]);
    const failed = outcomes.flatMap((o, i) => (o.ok ? [] : [{ i, error: o.error as RetryableError }]));
    expect(failed).to.have.length(1);
    expect(failed[0]!.error).to.be.instanceOf(RetryableError);
    expect([failed[0]!.error.code, failed[0]!.error.phase]).to.deep.equal(['40001', 'commit']);
    const loser = failed[0]!.i === 0 ? copies.a! : copies.b!;
    expect(loser.version, 'the loser is back at the version it loaded').to.equal(failed[0]!.i === 0 ? d1.version : d2.version);
    expect((await stockOf(d1.id)) + (await stockOf(d2.id)), 'someone is still on call').to.equal(1);
  });

  it('write skew under retryOnConflict(): the retried transaction sees the other commit and keeps its doctor on call', async () => {
    const ids = [(await A.create({ name: 'on call 1', stock: 1 })).id, (await A.create({ name: 'on call 2', stock: 1 })).id];
    const [aRead, bRead] = [gate(), gate()];
    const offCall = (db: Database, P: ProductClass, mineId: number, read: ReturnType<typeof gate>, other: ReturnType<typeof gate>) =>
      retryOnConflict(() =>
        db.transaction(async () => {
          const rows = await P.query().whereIn('id', ids);
          read.open();
          await other.opened;
          if (rows.filter((r) => r.stock === 1).length < 2) return false;
          const mine = rows.find((r) => r.id === mineId)!;
          mine.stock = 0;
          await mine.save();
          return true;
        }),
      );
    const went = await Promise.all([offCall(a, A, ids[0]!, aRead, bRead), offCall(b, B, ids[1]!, bRead, aRead)]);
    expect(went.filter(Boolean)).to.have.length(1);
    expect((await stockOf(ids[0]!)) + (await stockOf(ids[1]!))).to.equal(1);
  });
});
