import { expect } from 'chai';
import knexFactory, { Knex } from 'knex';
import { connect, ConnectionLostError, Database, DatabaseUnavailableError } from '../lib';
import { mysqlRows, waitUntil } from '../cluster/probe';
import { describePrivateCluster } from './support/clusters';
import { rejection } from './support/expect-error';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';

/**
 * A Galera node out of sync with its cluster accepts connections but refuses
 * every statement with 1047 "WSREP has not yet prepared node for application
 * use": while it joins (3-4 s of IST after a restart), while a clean
 * shutdown has left the group but not yet closed the port, and for as long
 * as it is cut off from the primary component. The spec cuts node 1 of a
 * private cluster off (gmcast.isolate: it drops all cluster traffic and
 * becomes a non-primary component of one, wsrep_ready OFF), then lets it
 * rejoin.
 *
 * Before: the raw mysql2 error reached every call, and a `{ nodes }`
 * database never moved on (its connections to node 1 were healthy sockets).
 * After: typed errors, the refused connection is discarded, and a new one to
 * a node that is not ready is refused while connecting, so `{ nodes }` moves
 * to the next node.
 */
const TABLE = 'galera_not_ready_products';
const KIND = VERSION_KINDS[0]!;

const portOf = (url: string): number => Number(new URL(url).port);

async function wsrepReady(port: number): Promise<string> {
  const rows = await mysqlRows(port, "SHOW GLOBAL STATUS LIKE 'wsrep_ready'");
  return String(rows[0]?.Value);
}

async function isolate(port: number, on: boolean): Promise<void> {
  await mysqlRows(port, `SET GLOBAL wsrep_provider_options = 'gmcast.isolate=${on ? 1 : 0}'`);
  if (on) {
    await waitUntil('node 1 out of the primary component', async () => (await wsrepReady(port)) === 'OFF', { timeoutMs: 30_000 });
  } else {
    await waitUntil(
      'node 1 synced again',
      async () => {
        const rows = await mysqlRows(port, "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_local_state_comment', 'wsrep_cluster_size')");
        const s = Object.fromEntries(rows.map((r) => [String(r.Variable_name), String(r.Value)]));
        return s.wsrep_ready === 'ON' && s.wsrep_local_state_comment === 'Synced' && s.wsrep_cluster_size === '3';
      },
      { timeoutMs: 90_000 },
    );
  }
}

describePrivateCluster('galera', 'a Galera node out of sync (1047, wsrep_ready OFF)', (cluster) => {
  let setup: Knex;
  const dbs: Database[] = [];
  let n1: string;

  before(async function () {
    this.timeout(60_000);
    n1 = cluster().topology().nodes![0]!;
    setup = knexFactory({ client: 'mysql2', connection: n1, pool: { min: 0, max: 1 } });
    await createProductTable(setup, TABLE, KIND);
  });
  afterEach(async function () {
    this.timeout(120_000);
    await Promise.all(dbs.splice(0).map((db) => db.close()));
    // Every member up and synced for the next block (the cluster is shared by the run's private-cluster specs).
    await isolate(portOf(n1), false);
  });
  after(async () => {
    await setup?.destroy();
  });

  it('connect({ nodes }) moves past the node: only reads on its idle connections fail, typed and with nothing written; then every call works on node 2', async function () {
    this.timeout(120_000);
    const nodes = cluster().topology().nodes!;
    const warnings: string[] = [];
    const db = connect({ nodes: [...nodes] }, { log: { warn: (m) => warnings.push(m) } });
    dbs.push(db);
    const Product = productModel(db, TABLE, KIND);
    const p = await Product.create({ name: 'lamp', stock: 1 });
    await isolate(portOf(n1), true);

    // Each idle connection to node 1 is refused under its statement (a read: nothing written) and discarded;
    // the next connection to it is refused while connecting, and the database moves on.
    const failures: unknown[] = [];
    const increment = async (): Promise<void> => {
      const fresh = await Product.get(p.id);
      fresh.stock += 1;
      await fresh.save();
    };
    for (let i = 0; i < 5 && failures.length === i; i++) await increment().catch((err: unknown) => failures.push(err));
    for (const err of failures) {
      expect(err, String(err)).to.be.instanceOf(ConnectionLostError);
      expect((err as ConnectionLostError).outcomeUnknown).to.equal(false);
    }
    expect(failures.length, 'the calls stop failing: the database moved on').to.be.below(5);
    for (let i = 0; i < 3; i++) await increment();
    expect(warnings.join('\n')).to.match(/is unreachable \(not-ready\); moving to .*:\d+/);
    const [[row]] = (await db.knex.raw('SELECT @@port AS port')) as [[{ port: number }]];
    expect(Number(row.port)).to.equal(portOf(nodes[1]!));
    expect((await Product.get(p.id)).stock).to.equal(1 + 4);
  });

  it('a database on that node alone gets typed errors, a save of unknown outcome, and works again once the node is back', async function () {
    this.timeout(120_000);
    const db = connect(n1);
    dbs.push(db);
    const Product = productModel(db, TABLE, KIND);
    const p = await Product.create({ name: 'desk', stock: 1 });
    await isolate(portOf(n1), true);

    p.stock = 2;
    // A write refused as its node leaves the primary component: the library does not claim it was not applied.
    const lost = await rejection(p.save(), ConnectionLostError);
    expect([lost.outcomeUnknown, lost.code]).to.deep.equal([true, 1047]);
    // The refused connection was discarded; a new one is refused too while the node is out, typed.
    const read = await Product.get(p.id).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(read instanceof ConnectionLostError || read instanceof DatabaseUnavailableError, String(read)).to.equal(true);

    await isolate(portOf(n1), false);
    const back = await Product.get(p.id);
    expect(back.stock).to.equal(1);
    back.stock = 3;
    await back.save();
    expect((await Product.get(p.id)).stock).to.equal(3);
  });
});
