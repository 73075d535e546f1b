import { expect } from 'chai';
import knexFactory, { Knex } from 'knex';
import { connect, Database, RecordDeletedError, RecordModifiedError, RetryableError, retryOnConflict } from '../lib';
import { describeCluster } from './support/clusters';
import { rejection } from './support/expect-error';
import { createProductTable, productModel, ProductClass, VERSION_KINDS, type VersionKind } from './support/models';
import { gate, settle } from './support/session';

/**
 * Conflicts on a multi-primary Galera cluster, where nodes do not lock
 * against each other: two nodes' UPDATEs of one row both match, and the
 * loser's transaction is refused at certification, with 1213 at COMMIT or
 * at its next statement (after which MariaDB has already rolled it back and
 * would autocommit whatever came next). Each is a conflict of the whole
 * transaction: rolled back, instances restored, `RetryableError`, never
 * success and never a raw driver error.
 *
 * The scripts make node 1's transaction lose on purpose: it writes the row,
 * then node 2 commits a write of the same row, which node 1 applies and
 * which aborts node 1's transaction (a brute-force abort). Reads that must
 * see the latest commit go through a connection with `wsrep_sync_wait = 1`.
 */
const TABLE = 'galera_conflicts';
const KIND = VERSION_KINDS[1]!;

/** A Knex on `url` whose reads wait until the node has applied every write committed before them. */
function syncedKnex(url: string): Knex {
  const afterCreate = (conn: { query(sql: string, cb: (e: Error | null) => void): void }, done: (e: Error | null, c: unknown) => void) =>
    conn.query('SET SESSION wsrep_sync_wait = 1', (e) => done(e, conn));
  return knexFactory({ client: 'mysql2', connection: url, pool: { min: 0, max: 2, afterCreate } });
}

interface Node {
  readonly db: Database;
  readonly Product: ProductClass;
  /** Waits until this node has applied every write committed anywhere so far. */
  caughtUp(): Promise<void>;
}

describeCluster('galera', 'conflicts at COMMIT on Galera', (cluster) => {
  let synced: Knex[] = [];
  let nodes: Node[] = [];
  let dbs: Database[] = [];

  const openNode = (i: number, kind: VersionKind = KIND): Node => {
    const db = connect(cluster().nodes[i]!);
    dbs.push(db);
    return { db, Product: productModel(db, TABLE, kind), caughtUp: () => synced[i]!(TABLE).count({ n: '*' }).then(() => undefined) };
  };

  /** The committed row, as a node that has caught up sees it. */
  const row = async (id: number): Promise<{ name: string; stock: number; version: number } | undefined> => {
    const r = await synced[0]!(TABLE).where({ id }).first();
    return r === undefined ? undefined : { name: r.name, stock: Number(r.stock), version: Number(r.version) };
  };
  const count = async (where: Record<string, unknown>): Promise<number> => Number((await synced[0]!(TABLE).where(where).count({ n: '*' }))[0]!.n);

  before(() => {
    synced = cluster().nodes.map(syncedKnex);
  });
  beforeEach(async () => {
    await createProductTable(synced[0]!, TABLE, KIND);
    nodes = [openNode(0), openNode(1), openNode(2)];
  });
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((db) => db.close()));
  });
  after(async () => {
    await Promise.all(synced.map((k) => k.destroy()));
  });

  /** Commits a change of row `id` on node 2 and waits until node 1 has applied it, aborting node 1's transaction on the row. */
  const commitOnNode2 = async (id: number, stock: number): Promise<void> => {
    // Node 2 first applies what was committed before (the row's INSERT, say): else its UPDATE could match nothing.
    await nodes[1]!.caughtUp();
    const updated = await nodes[1]!.db.knex(TABLE).where({ id }).update({ stock, version: nodes[1]!.db.knex.raw('version + 1') });
    expect(updated, 'node 2 changed the row').to.equal(1);
    await nodes[0]!.caughtUp();
  };

  /** A row created on node 1, loaded on node 1 (`mine`), with its version. */
  const setup = async (name = 'contested') => {
    const created = await nodes[0]!.Product.create({ name, stock: 1 });
    await nodes[0]!.caughtUp();
    const mine = await nodes[0]!.Product.get(created.id);
    return { id: created.id, mine, version: mine.version };
  };

  it('two transactions on two nodes save one row: both UPDATEs match, one commits, the other is RetryableError (1213 at COMMIT), restored, never both', async function () {
    this.timeout(30_000);
    const { id } = await setup();
    let wins = 0;
    for (let round = 0; round < 10; round++) {
      await Promise.all(nodes.slice(0, 2).map((n) => n.caughtUp()));
      const copies = [await nodes[0]!.Product.get(id), await nodes[1]!.Product.get(id)];
      const before = copies.map((c) => c.version);
      expect(before[0]).to.equal(before[1]);
      const [bothWrote, updated] = [[gate(), gate()], [false, false]];
      const outcomes = await Promise.all(
        copies.map((c, i) =>
          settle(
            nodes[i]!.db.transaction(async () => {
              c.stock += 1;
              await c.save();
              updated[i] = true;
              bothWrote[i]!.open();
              await Promise.all(bothWrote.map((g) => g.opened));
            }),
          ).finally(() => bothWrote[i]!.open()),
        ),
      );
      expect(updated, 'nodes do not lock against each other: both UPDATEs matched').to.deep.equal([true, true]);
      const failed = outcomes.flatMap((o, i) => (o.ok ? [] : [{ i, error: o.error }]));
      expect(failed, 'exactly one loser').to.have.length(1);
      const { i, error } = failed[0]!;
      expect(error).to.be.instanceOf(RetryableError);
      expect((error as RetryableError).code).to.equal(1213);
      expect(copies[i]!.version, 'the loser is back at the version it loaded').to.equal(before[i]);
      expect(copies[i]!.stock, 'and at the value it held before saving').to.equal(copies[1 - i]!.stock);
      wins++;
      expect((await row(id))!.version).to.equal(copies[1 - i]!.version);
    }
    expect((await row(id))!.stock).to.equal(1 + wins);
  });

  it('fn returns after its transaction was aborted by another node: COMMIT is refused (RetryableError at COMMIT), the instance restored', async function () {
    const { id, mine, version } = await setup();
    const err = await rejection(
      nodes[0]!.db.transaction(async () => {
        mine.stock = 5;
        await mine.save();
        await commitOnNode2(id, 99);
      }),
      RetryableError,
    );
    expect([err.code, err.phase]).to.deep.equal([1213, 'commit']);
    expect(mine.version).to.equal(version);
    expect((await row(id))!.stock).to.equal(99);
  });

  it('the next library statement after the abort gets the 1213: the transaction rejects with it even when fn catches it and returns normally', async function () {
    const { id, mine, version } = await setup();
    const other = await nodes[0]!.Product.create({ name: 'other', stock: 1 });
    const otherVersion = other.version;
    let caught: unknown;
    const err = await rejection(
      nodes[0]!.db.transaction(async () => {
        mine.stock = 5;
        await mine.save();
        await commitOnNode2(id, 99);
        other.stock = 7;
        await other.save().catch((e: unknown) => (caught = e));
      }),
      RetryableError,
    );
    expect(caught).to.equal(err);
    expect([err.code, err.phase]).to.deep.equal([1213, 'statement']);
    expect([mine.version, other.version]).to.deep.equal([version, otherVersion]);
    expect((await row(other.id))!.stock).to.equal(1);
  });

  it('your own query on trx gets the 1213, fn catches it and goes on: every later query and save is refused, nothing is committed', async function () {
    const { id, mine, version } = await setup();
    const other = await nodes[0]!.Product.create({ name: 'other', stock: 1 });
    const seen: unknown[] = [];
    const err = await rejection(
      nodes[0]!.db.transaction(async (trx) => {
        mine.stock = 5;
        await mine.save();
        await commitOnNode2(id, 99);
        await trx.raw('SELECT 1').catch((e: unknown) => seen.push(e));
        await trx(TABLE).insert({ name: 'after the abort', description: '', stock: 1, version: 1 }).catch((e: unknown) => seen.push(e));
        other.stock = 7;
        await other.save().catch((e: unknown) => seen.push(e));
        return 'fn finished normally';
      }),
      RetryableError,
    );
    expect(seen, 'your query, your insert and the save all got the typed error that ended the transaction').to.deep.equal([err, err, err]);
    expect(err.code).to.equal(1213);
    expect(await count({ name: 'after the abort' })).to.equal(0);
    expect((await row(other.id))!.stock).to.equal(1);
    expect(mine.version).to.equal(version);
  });

  it('a query sent right behind the one that gets the 1213 (Promise.all) is never committed on its own', async function () {
    // mysql2 sends the insert as soon as the SELECT fails; MariaDB, which
    // rolled the transaction back, would autocommit it before the library's ROLLBACK.
    const { id, mine } = await setup();
    const err = await rejection(
      nodes[0]!.db.transaction(async (trx) => {
        mine.stock = 5;
        await mine.save();
        await commitOnNode2(id, 99);
        await Promise.all([trx.raw('SELECT 1'), trx(TABLE).insert({ name: 'pipelined', description: '', stock: 1, version: 1 })]);
      }),
      RetryableError,
    );
    expect(err.code).to.equal(1213);
    expect(await count({ name: 'pipelined' })).to.equal(0);
  });

  it('Promise.all of saves with the aborted one among them: the siblings finish before the rollback, every instance is restored, nothing is written', async function () {
    const { id, mine, version } = await setup();
    const others = [await nodes[0]!.Product.create({ name: 'a', stock: 1 }), await nodes[0]!.Product.create({ name: 'b', stock: 1 })];
    const versions = others.map((o) => o.version);
    const err = await rejection(
      nodes[0]!.db.transaction(async () => {
        mine.stock = 5;
        await mine.save();
        await commitOnNode2(id, 99);
        mine.stock = 6;
        others.forEach((o) => (o.stock = 9));
        await Promise.all([mine.save(), ...others.map((o) => o.save())]);
      }),
      RetryableError,
    );
    expect(err.code).to.equal(1213);
    expect(mine.version).to.equal(version);
    expect(others.map((o) => o.version)).to.deep.equal(versions);
    expect(await count({ stock: 9 })).to.equal(0);
  });

  it('the contested save inside a savepoint that was released: the outer COMMIT is refused and the instance saved in the savepoint is restored', async function () {
    const { id, mine, version } = await setup();
    const err = await rejection(
      nodes[0]!.db.transaction(async () => {
        await nodes[0]!.db.transaction(async () => {
          mine.stock = 5;
          await mine.save();
        });
        await commitOnNode2(id, 99);
      }),
      RetryableError,
    );
    expect(err.code).to.equal(1213);
    expect(mine.version).to.equal(version);
    expect((await row(id))!.stock).to.equal(99);
  });

  it('a value assigned while the transaction is in flight: after the abort the instance holds its old version, and refresh() then save() lands', async function () {
    const { id, mine, version } = await setup();
    await rejection(
      nodes[0]!.db.transaction(async () => {
        mine.stock = 5;
        const saving = mine.save();
        mine.name = 'assigned while saving';
        await saving;
        await commitOnNode2(id, 99);
      }),
      RetryableError,
    );
    expect(mine.version).to.equal(version);
    // Its stale version is refused, never written over node 2's commit.
    await rejection(mine.save(), RecordModifiedError);
    expect((await row(id))!.stock).to.equal(99);
    await mine.refresh();
    mine.stock += 1;
    await mine.save();
    expect((await row(id))!.stock).to.equal(100);
  });

  it('retryOnConflict() runs an aborted transaction again and the second run lands; the retry is counted on the database', async function () {
    const { id } = await setup();
    const db = nodes[0]!.db;
    db.resetStats();
    let runs = 0;
    await retryOnConflict(() =>
      db.transaction(async () => {
        runs++;
        await nodes[0]!.caughtUp();
        const p = await nodes[0]!.Product.get(id);
        p.stock += 10;
        await p.save();
        if (runs === 1) await commitOnNode2(id, 50);
      }),
    );
    expect(runs).to.equal(2);
    expect((await row(id))!.stock).to.equal(60);
    expect(db.stats().retries).to.equal(1);
  });

  it('retryOnConflict() with every run aborted: the last RetryableError after the attempts, every run\'s instances as they were', async function () {
    const { id } = await setup();
    const other = await nodes[0]!.Product.create({ name: 'other', stock: 1 });
    const otherVersion = other.version;
    const loaded: { p: InstanceType<ProductClass>; version: number }[] = [];
    let runs = 0;
    const err = await rejection(
      retryOnConflict(
        () =>
          nodes[0]!.db.transaction(async () => {
            runs++;
            const p = await nodes[0]!.Product.get(id);
            loaded.push({ p, version: p.version });
            p.stock = 5;
            other.stock += 1;
            await Promise.all([p.save(), other.save()]);
            await commitOnNode2(id, 100 + runs);
          }),
        { attempts: 3, delayMs: () => 0 },
      ),
      RetryableError,
    );
    expect(runs).to.equal(3);
    expect(err.code).to.equal(1213);
    expect(loaded.map((l) => l.p.version)).to.deep.equal(loaded.map((l) => l.version));
    expect(other.version).to.equal(otherVersion);
    expect((await row(id))!.stock).to.equal(103);
    expect((await row(other.id))!.stock).to.equal(1);
  });

  it('three nodes incrementing one counter in transactions with retryOnConflict(): no increment is lost', async function () {
    this.timeout(60_000);
    const { id } = await setup('counter');
    const perNode = 8;
    await Promise.all(
      nodes.map(async (n) => {
        for (let k = 0; k < perNode; k++) {
          await retryOnConflict(
            () =>
              n.db.transaction(async () => {
                const c = await n.Product.get(id);
                c.stock += 1;
                await c.save();
              }),
            { attempts: 50 },
          );
        }
      }),
    );
    expect((await row(id))!.stock).to.equal(1 + nodes.length * perNode);
  });
});

/**
 * Saves outside a transaction on three nodes at once. With
 * `wsrep_retry_autocommit = 1` (the default) a node retries a refused
 * autocommit statement once, and the loser then sees 0 rows; with 0 (or when
 * the retry loses too) it gets 1213. Either way the loser is told the row was
 * changed (`RecordModifiedError`, through the read that classifies a
 * conflict), or, if its node had not applied the winning write yet,
 * `RetryableError`: never a raw error, never a lost update.
 */
for (const retry of [1, 0]) {
  describeCluster('galera', `save() outside a transaction on three nodes, wsrep_retry_autocommit = ${retry}`, (cluster) => {
    let admin: Knex[] = [];
    let saved: number[] = [];
    before(async () => {
      admin = cluster().nodes.map((url) => knexFactory({ client: 'mysql2', connection: url, pool: { min: 0, max: 1 } }));
      saved = [];
      for (const k of admin) {
        const [[r]] = await k.raw('SELECT @@GLOBAL.wsrep_retry_autocommit AS v');
        saved.push(Number(r.v));
        // Global: it applies to the sessions of the pools each test opens.
        await k.raw('SET GLOBAL wsrep_retry_autocommit = ?', [retry]);
      }
    });
    after(async () => {
      await Promise.all(admin.map((k, i) => (saved[i] === undefined ? undefined : k.raw('SET GLOBAL wsrep_retry_autocommit = ?', [saved[i]!]))));
      await Promise.all(admin.map((k) => k.destroy()));
    });

    for (const kind of VERSION_KINDS) {
      it(`${kind.name}: every loser is RecordModifiedError (or RetryableError), its instance unchanged; the row counts every win`, async function () {
        this.timeout(60_000);
        const syncs = cluster().nodes.map(syncedKnex);
        const synced = syncs[0]!;
        const dbs = cluster().nodes.map((url) => connect(url));
        try {
          await createProductTable(synced, TABLE, kind);
          const Products = dbs.map((db) => productModel(db, TABLE, kind));
          const { id } = await Products[0]!.create({ name: 'raced', stock: 0 });
          const tally = { wins: 0, modified: 0, modifiedAfter1213: 0, retryable: 0 };
          // A 1213 is frequent but not certain in any one round: race on until one was seen (retry 0).
          for (let round = 0; round < 15 || (retry === 0 && tally.modifiedAfter1213 === 0 && round < 60); round++) {
            // Each node catches up with the last round's winner before it loads.
            const copies = await Promise.all(Products.map(async (P, i) => {
              await syncs[i]!(TABLE).count({ n: '*' });
              return P.get(id);
            }));
            const versions = copies.map((c) => c.version);
            if (new Set(versions).size !== 1) expect.fail(`the nodes loaded different versions: ${versions.join(', ')}`);
            const outcomes = await Promise.all(copies.map((c) => settle((c.stock += 1, c.save()))));
            outcomes.forEach((o, i) => {
              if (o.ok) return void tally.wins++;
              const e = o.error;
              if (e instanceof RecordModifiedError && !(e instanceof RecordDeletedError)) {
                tally.modified++;
                if ((e.cause as { errno?: number } | undefined)?.errno === 1213) tally.modifiedAfter1213++;
                expect(e.expectedVersion).to.equal(versions[i]);
              } else if (e instanceof RetryableError) {
                expect(e.reason).to.equal('deadlock');
                tally.retryable++;
              } else {
                expect.fail(`a loser got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
              }
              expect(copies[i]!.version, 'a loser keeps the version it loaded').to.equal(versions[i]);
            });
            expect(outcomes.filter((o) => o.ok).length, 'at least one save of each round lands').to.be.greaterThan(0);
          }
          const final = await synced(TABLE).where({ id }).first();
          expect(Number(final.stock), JSON.stringify(tally)).to.equal(tally.wins);
          expect(tally.modified + tally.retryable, JSON.stringify(tally)).to.be.greaterThan(0);
          if (retry === 0) expect(tally.modifiedAfter1213, `a loser's 1213 is classified as RecordModifiedError: ${JSON.stringify(tally)}`).to.be.greaterThan(0);
        } finally {
          await Promise.all(dbs.map((db) => db.close()));
          await Promise.all(syncs.map((k) => k.destroy()));
        }
      });
    }
  });
}
