import { expect } from 'chai';
import knexFactory, { Knex } from 'knex';
import { connect, Database, DatabaseUnavailableError, DoesNotExist, isChanged, RecordDeletedError, RecordModifiedError, UsageError } from '../lib';
import { describeCluster } from './support/clusters';
import { rejection } from './support/expect-error';
import { createProductTable, productModel, VERSION_KINDS, type ProductClass } from './support/models';
import { TcpProxy } from './support/tcp-proxy';

// A primary with a streaming replica. The replica's replay is paused around
// the checks that need it behind, so "stale" is certain, not a race: a read
// served by the replica misses what the primary committed since.

const TABLE = 'topology_products';
const DEAD = 'postgres://root@127.0.0.1:1/nowhere';

function open(url: string): Knex {
  return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 } });
}

async function waitFor(check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('timed out');
}

describeCluster('replicas', 'connect({ primary, replicas })', (cluster) => {
  let db: Database;
  let Product: ProductClass;
  let primary: Knex;
  let replica: Knex;
  const warnings: string[] = [];

  /** Runs `fn` with the replica's replay paused: it keeps what it had, misses every commit after. */
  async function replicaBehind<T>(fn: () => Promise<T>): Promise<T> {
    await replica.raw('SELECT pg_wal_replay_pause()');
    try {
      return await fn();
    } finally {
      await replica.raw('SELECT pg_wal_replay_resume()');
    }
  }

  async function replicaHas(id: number): Promise<void> {
    await waitFor(async () => (await replica(TABLE).where({ id })).length === 1);
  }

  before(async function () {
    primary = open(cluster().primary);
    replica = open(cluster().replicas[0]!);
    await createProductTable(primary, TABLE, VERSION_KINDS[0]);
    db = connect({ primary: cluster().primary, replicas: cluster().replicas }, { log: { warn: (m) => warnings.push(m) } });
    Product = productModel(db, TABLE, VERSION_KINDS[0]!);
  });
  after(async () => {
    await replica?.raw('SELECT pg_wal_replay_resume()').catch(() => undefined);
    await Promise.all([db?.close(), primary?.destroy(), replica?.destroy()]);
  });

  it('sends writes to the primary and plain reads outside transactions to the replica', async function () {
    const p = await Product.create({ name: 'lamp', stock: 1 });
    await replicaHas(p.id);
    await replicaBehind(async () => {
      p.stock = 2;
      await p.save();
      // The replica has not replayed the save: get() and query() read it there.
      expect((await Product.get(p.id)).stock).to.equal(1);
      expect((await Product.query().where({ id: p.id }).first())?.stock).to.equal(1);
      const fresh = await Product.create({ name: 'new' });
      await rejection(Product.get(fresh.id), DoesNotExist);
      expect(await Product.query().where({ id: fresh.id }).count()).to.equal(0);
    });
  });

  it('reads your own writes inside db.primary(), and in transactions', async function () {
    const p = await Product.create({ name: 'desk', stock: 1 });
    await replicaHas(p.id);
    await replicaBehind(async () => {
      p.stock = 5;
      await p.save();
      expect((await db.primary(() => Product.get(p.id))).stock).to.equal(5);
      expect(await db.primary(() => Product.query().where({ id: p.id, stock: 5 }).count())).to.equal(1);
      // Nested and across awaits, the scope holds; outside it, the replica serves again.
      await db.primary(async () => {
        await new Promise((r) => setTimeout(r, 5));
        expect((await db.primary(() => Product.get(p.id))).stock).to.equal(5);
        expect((await Product.get(p.id)).stock).to.equal(5);
      });
      expect((await Product.get(p.id)).stock).to.equal(1);
      await db.transaction(async () => {
        expect((await Product.get(p.id)).stock).to.equal(5);
        expect((await Product.query().where({ id: p.id }).forUpdate().first())?.stock).to.equal(5);
      });
    });
  });

  it('classifies a conflict, refreshes and answers isChanged() from the primary, never from a lagging replica', async function () {
    await replicaBehind(async () => {
      // Created while the replica is behind: there, the row does not exist at all.
      const mine = await Product.create({ name: 'chair', stock: 1 });
      const theirs = await db.primary(() => Product.get(mine.id));
      theirs.stock = 7;
      await theirs.save();
      expect(await isChanged(mine)).to.equal(true);
      mine.stock = 3;
      const err = await rejection(mine.save(), RecordModifiedError);
      expect(err).to.not.be.instanceOf(RecordDeletedError);
      expect(err.actualVersion).to.equal(theirs.version);
      await mine.refresh();
      expect(mine.stock).to.equal(7);
      expect(mine.version).to.equal(theirs.version);
      expect(await isChanged(mine)).to.equal(false);
      mine.stock = 4;
      await mine.save();
      // A delete met under a stale copy is a deletion, read on the primary.
      await mine.delete();
      theirs.stock = 9;
      await rejection(theirs.save(), RecordDeletedError);
    });
  });

  it('spreads reads over the replicas that answer, and falls back to the primary when none does', async function () {
    const p = await Product.create({ name: 'shelf', stock: 1 });
    await replicaHas(p.id);
    const spread = connect({ primary: cluster().primary, replicas: [DEAD, cluster().replicas[0]!] }, { log: { warn: (m) => warnings.push(m) } });
    const deadOnly = connect({ primary: cluster().primary, replicas: [DEAD] }, { log: { warn: () => undefined } });
    try {
      const S = productModel(spread, TABLE, VERSION_KINDS[0]!);
      const D = productModel(deadOnly, TABLE, VERSION_KINDS[0]!);
      await replicaBehind(async () => {
        p.stock = 2;
        await p.save();
        for (let i = 0; i < 4; i++) expect((await S.get(p.id)).stock, 'served by the live replica').to.equal(1);
        expect((await D.get(p.id)).stock, 'served by the primary').to.equal(2);
      });
      expect(warnings.some((w) => /127\.0\.0\.1:1\/nowhere is unreachable \(refused\)/.test(w)), warnings.join('\n')).to.equal(true);
    } finally {
      await Promise.all([spread.close(), deadOnly.close()]);
    }
  });

  it('when the primary dies, writes fail typed with nothing written, replica reads keep working, and writes resume when it is back', async function () {
    const p = await Product.create({ name: 'bench', stock: 1 });
    await replicaHas(p.id);
    const u = new URL(cluster().primary);
    const proxy = await TcpProxy.start(Number(u.port));
    u.port = String(proxy.port);
    const viaProxy = connect({ primary: u.toString(), replicas: cluster().replicas }, { log: { warn: () => undefined } });
    try {
      const V = productModel(viaProxy, TABLE, VERSION_KINDS[0]!);
      const copy = await V.get(p.id);
      copy.stock = 2;
      await copy.save();
      await proxy.kill();
      await new Promise((r) => setTimeout(r, 50));
      copy.stock = 3;
      const down = await rejection(copy.save(), DatabaseUnavailableError);
      expect(down.reason).to.equal('refused');
      expect(copy.stock, 'the instance keeps its change').to.equal(3);
      await rejection(viaProxy.primary(() => V.get(p.id)), DatabaseUnavailableError);
      await waitFor(async () => (await V.get(p.id)).stock === 2);
      expect(await V.query().where({ id: p.id }).count(), 'plain reads stay on the replica').to.equal(1);
      await proxy.resume();
      await copy.save();
      expect((await primary(TABLE).where({ id: p.id }))[0].stock).to.equal(3);
    } finally {
      await viaProxy.close();
      await proxy.kill();
    }
  });

  it('with replicas only, serves plain reads and refuses, before any SQL, every call that needs the primary', async function () {
    const p = await Product.create({ name: 'stool', stock: 1 });
    await replicaHas(p.id);
    const readOnly = connect({ replicas: cluster().replicas });
    try {
      const R = productModel(readOnly, TABLE, VERSION_KINDS[0]!);
      const copy = await R.get(p.id);
      expect(copy.stock).to.equal(1);
      copy.stock = 2;
      const queries: string[] = [];
      readOnly.knex.on('query', (q: { sql: string }) => queries.push(q.sql));
      const refused = [
        await rejection(copy.save(), UsageError),
        await rejection(R.create({ name: 'x' }), UsageError),
        await rejection(copy.refresh(), UsageError),
        await rejection(isChanged(copy), UsageError),
        await rejection(readOnly.transaction(async () => undefined), UsageError),
        await rejection(readOnly.primary(async () => undefined), UsageError),
        await rejection(R.query().where({ id: p.id }).update({ stock: 3 }), UsageError),
      ];
      for (const e of refused) expect(e.message).to.match(/replicas only.*Nothing was sent.*\{ primary, replicas \}/);
      expect(refused[0]!.message).to.match(/^\w+\.save\(\) needs the primary/);
      expect(queries).to.deep.equal([]);
      expect((await primary(TABLE).where({ id: p.id }))[0].stock).to.equal(1);
    } finally {
      await readOnly.close();
    }
  });

  it('refuses a topology that mixes databases or names no server, before connecting', async function () {
    expect(() => connect({ primary: cluster().primary, replicas: ['mysql://root@127.0.0.1:3306/x'] })).to.throw(UsageError, /same database/);
    expect(() => connect({ replicas: [] })).to.throw(UsageError, /needs a primary, replicas, or nodes/);
    expect(() => connect({ primary: cluster().primary, nodes: [cluster().primary] } as never)).to.throw(UsageError, /not both/);
    expect(() => connect({ primary: cluster().primary, replicas: [42] } as never)).to.throw(UsageError, /replicas\[0\] must be a database URL/);
    expect(() => connect({ replicas: ['sqlite::memory:'] })).to.throw(UsageError, /SQLite has no replicas/);
  });
});
