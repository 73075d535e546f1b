import { expect } from 'chai';
import knexFactory, { Knex } from 'knex';
import { connect, Database, isChanged, RecordModifiedError, RetryableError } from '../lib';
import { describeCluster } from './support/clusters';
import { rejection } from './support/expect-error';
import { createProductTable, productModel, VERSION_KINDS, type ProductClass } from './support/models';
import { TcpProxy } from './support/tcp-proxy';

// connect({ nodes }) on the 3-node Galera cluster: a Database works on one
// node (the first that answers) and moves to the next when it cannot get a
// connection there; the reads that must see the latest committed row wait
// for the node to apply what the cluster committed before them.

const TABLE = 'topology_galera_products';
const DEAD = 'mysql://root@127.0.0.1:1/nowhere';
const KIND = VERSION_KINDS[0]!;

async function portOf(db: Database | Knex): Promise<number> {
  const knex = 'knex' in db ? db.knex : db;
  const [[row]] = (await knex.raw('SELECT @@port AS port')) as [[{ port: number }]];
  return Number(row.port);
}

function portOfUrl(url: string): number {
  return Number(new URL(url).port);
}

function withPort(url: string, port: number): string {
  const u = new URL(url);
  u.port = String(port);
  return u.toString();
}

describeCluster('galera', 'connect({ nodes }) on Galera', (cluster) => {
  let setup: Knex;
  const dbs: Database[] = [];
  const warnings: string[] = [];

  function open(nodes: string[]): { db: Database; Product: ProductClass } {
    const db = connect({ nodes }, { log: { warn: (m) => warnings.push(m) } });
    dbs.push(db);
    return { db, Product: productModel(db, TABLE, KIND) };
  }

  before(async function () {
    setup = knexFactory({ client: 'mysql2', connection: cluster().nodes[0]!, pool: { min: 0, max: 2 } });
    await createProductTable(setup, TABLE, KIND);
  });
  afterEach(async () => {
    await Promise.all(dbs.splice(0).map((db) => db.close()));
  });
  after(async () => {
    await setup?.destroy();
  });

  it('sends every statement to one node, the first listed, transactions and queries of your own included', async function () {
    const [n1, n2, n3] = cluster().nodes as [string, string, string];
    const { db, Product } = open([n2, n1, n3]);
    const ports = await Promise.all(Array.from({ length: 8 }, () => portOf(db)));
    expect(new Set(ports)).to.deep.equal(new Set([portOfUrl(n2)]));
    const p = await Product.create({ name: 'lamp' });
    p.stock = 2;
    await p.save();
    expect(await db.transaction((trx) => trx.raw('SELECT @@port AS port').then(([[r]]) => Number(r.port)))).to.equal(portOfUrl(n2));
    expect((await Product.get(p.id)).stock).to.equal(2);
  });

  it('moves to the next node when the first cannot give a connection, and stays there', async function () {
    const [n1, n2] = cluster().nodes as [string, string];
    warnings.length = 0;
    const { db, Product } = open([DEAD, n1, n2]);
    const p = await Product.create({ name: 'desk' });
    expect(await portOf(db)).to.equal(portOfUrl(n1));
    p.stock = 3;
    await p.save();
    expect(warnings.filter((w) => /nowhere is unreachable \(refused\); moving to mysql:\/\/root@127\.0\.0\.1:\d+/.test(w))).to.have.length(1);
  });

  it('fails over when the node it is pinned to dies under it: later calls run on the next node', async function () {
    const [n1, n2, n3] = cluster().nodes as [string, string, string];
    const proxy = await TcpProxy.start(portOfUrl(n1));
    const { db, Product } = open([withPort(n1, proxy.port), n2, n3]);
    const p = await Product.create({ name: 'chair' });
    expect(await portOf(db)).to.equal(portOfUrl(n1));
    await proxy.kill();
    // Give the pool the sockets' close events: a connection found dead is dropped, not lent.
    await new Promise((r) => setTimeout(r, 50));
    p.stock = 4;
    await p.save();
    expect(await portOf(db)).to.equal(portOfUrl(n2));
    expect((await Product.get(p.id)).stock).to.equal(4);
    expect(await db.transaction(async () => (await Product.get(p.id)).stock)).to.equal(4);
  });

  it('a save on node A racing a save on node B: one wins, the other fails typed, nothing is lost (autocommit)', async function () {
    const [n1, n2, n3] = cluster().nodes as [string, string, string];
    const a = open([n1, n2, n3]);
    const b = open([n2, n3, n1]);
    const row = await a.Product.create({ name: 'race', stock: 0 });
    let wins = 0;
    for (let round = 1; round <= 20; round++) {
      const [x, y] = await Promise.all([a.db.primary(() => a.Product.get(row.id)), b.db.primary(() => b.Product.get(row.id))]);
      // Both copies hold the same version (b's node may lag: wait until it has the latest).
      if (x.version !== y.version) await y.refresh();
      expect(y.version).to.equal(x.version);
      x.stock = round * 10 + 1;
      y.stock = round * 10 + 2;
      const results = await Promise.allSettled([x.save(), y.save()]);
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won, `round ${round}`).to.have.length(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).to.satisfy((e: unknown) => e instanceof RecordModifiedError || e instanceof RetryableError, String(lost.reason));
      const winner = results[0]!.status === 'fulfilled' ? x : y;
      await x.refresh();
      expect(x.stock).to.equal(winner.stock);
      expect(x.version).to.equal(winner.version);
      wins++;
    }
    expect(wins).to.equal(20);
  });

  it('a save on node A racing a save on node B in transactions: one commits, the other is a typed conflict with its instance restored', async function () {
    const [n1, n2, n3] = cluster().nodes as [string, string, string];
    const a = open([n1, n2, n3]);
    const b = open([n2, n3, n1]);
    const row = await a.Product.create({ name: 'race-trx', stock: 0 });
    for (let round = 1; round <= 10; round++) {
      const x = await a.Product.get(row.id);
      await x.refresh();
      const y = await b.Product.get(row.id);
      await y.refresh();
      const held = x.version;
      expect(y.version).to.equal(held);
      x.stock = round * 10 + 1;
      y.stock = round * 10 + 2;
      const results = await Promise.allSettled([a.db.transaction(() => x.save()), b.db.transaction(() => y.save())]);
      expect(results.filter((r) => r.status === 'fulfilled'), `round ${round}`).to.have.length(1);
      const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      expect(lost.reason).to.satisfy((e: unknown) => e instanceof RecordModifiedError || e instanceof RetryableError, String(lost.reason));
      const [winner, loser] = results[0]!.status === 'fulfilled' ? [x, y] : [y, x];
      expect(loser.version, 'the loser is back at the version it held').to.equal(held);
      await loser.refresh();
      expect([loser.stock, loser.version]).to.deep.equal([winner.stock, winner.version]);
    }
  });

  it('refresh(), isChanged() and a conflict read on node A see a save just committed on node B (wsrep_sync_wait)', async function () {
    const [n1, n2, n3] = cluster().nodes as [string, string, string];
    const a = open([n1, n2, n3]);
    const b = open([n2, n3, n1]);
    const mine = await a.Product.create({ name: 'fresh', stock: 0 });
    const theirs = await b.db.primary(async () => {
      for (;;) {
        const found = await b.Product.query().where({ id: mine.id }).first();
        if (found !== undefined) return found;
      }
    });
    for (let round = 1; round <= 40; round++) {
      theirs.stock = round;
      await theirs.save();
      // Straight after B's commit: A's node may not have applied it yet.
      expect(await isChanged(mine), `isChanged, round ${round}`).to.equal(true);
      mine.stock = -round;
      const err = await rejection(mine.save(), RecordModifiedError);
      expect(err.actualVersion, `conflict read, round ${round}`).to.equal(theirs.version);
      theirs.stock = round + 1000;
      await theirs.save();
      await mine.refresh();
      expect(mine.version, `refresh, round ${round}`).to.equal(theirs.version);
      expect(mine.stock).to.equal(round + 1000);
    }
  });
});
