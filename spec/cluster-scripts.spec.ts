import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { describeCluster } from './support/clusters';

// The clusters `npm run cluster -- up ...` starts are what the cluster specs
// stand on: these check the facts those specs rely on, on the running clusters.

const CLI = path.join(__dirname, '..', 'cluster', 'cli.js');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (err, stdout, stderr) => resolve({ code: err ? Number(err.code) : 0, stdout, stderr }));
  });
}

function open(url: string): Knex {
  return knexFactory({ client: url.startsWith('mysql') ? 'mysql2' : 'pg', connection: url, pool: { min: 0, max: 2 } });
}

describe('npm run cluster', function () {
  it('refuses an unknown command or cluster with the usage and exit code 2, starting nothing', async function () {
    for (const args of [['start'], ['up'], ['up', 'cockroach'], ['down', 'galera', 'replicas'], ['up', 'galera', '--fast']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr).to.match(/usage: npm run cluster -- up galera\|replicas/);
      expect(r.stdout).to.equal('');
    }
  });
});

describeCluster('galera', 'the Galera cluster of npm run cluster', (cluster) => {
  let nodes: Knex[] = [];
  before(() => {
    nodes = cluster().nodes.map(open);
  });
  after(async () => {
    await Promise.all(nodes.map((k) => k.destroy()));
  });

  it('has three synced nodes, each its own server', async function () {
    const ids = new Set<string>();
    for (const k of nodes) {
      const [rows] = await k.raw("SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment')");
      const status = Object.fromEntries((rows as { Variable_name: string; Value: string }[]).map((r) => [r.Variable_name, r.Value]));
      expect(status).to.deep.equal({ wsrep_cluster_size: '3', wsrep_local_state_comment: 'Synced' });
      const [[server]] = await k.raw('SELECT @@port AS port');
      ids.add(String(server.port));
    }
    expect(ids.size).to.equal(3);
  });

  it('replicates a write on one node to the others (read with wsrep_sync_wait)', async function () {
    const [first, , third] = nodes as [Knex, Knex, Knex];
    await first.schema.dropTableIfExists('cluster_smoke');
    await first.schema.createTable('cluster_smoke', (t) => {
      t.integer('id').primary();
      t.string('note');
    });
    await first('cluster_smoke').insert({ id: 1, note: 'from node 1' });
    // The wait applies to the statement it prefixes: it sees every write the cluster committed before it began.
    const [rows] = await third.raw('SET STATEMENT wsrep_sync_wait = 1 FOR SELECT note FROM cluster_smoke');
    expect(rows.map((r: { note: string }) => ({ ...r }))).to.deep.equal([{ note: 'from node 1' }]);
    await first.schema.dropTable('cluster_smoke');
  });
});

describeCluster('replicas', 'the PostgreSQL primary and replica of npm run cluster', (cluster) => {
  let primary: Knex | undefined;
  let replica: Knex | undefined;
  before(() => {
    primary = open(cluster().primary);
    replica = open(cluster().replicas[0]!);
  });
  after(async () => {
    await Promise.all([primary?.destroy(), replica?.destroy()]);
  });

  it('streams the primary to a replica that is in recovery and refuses writes (SQLSTATE 25006)', async function () {
    const [p, r] = [primary!, replica!];
    expect((await p.raw('SELECT pg_is_in_recovery() AS r')).rows[0].r).to.equal(false);
    expect((await r.raw('SELECT pg_is_in_recovery() AS r')).rows[0].r).to.equal(true);
    await p.schema.dropTableIfExists('cluster_smoke');
    await p.schema.createTable('cluster_smoke', (t) => t.integer('id').primary());
    await p('cluster_smoke').insert({ id: 1 });
    let seen: unknown[] = [];
    for (let i = 0; i < 200 && seen.length === 0; i++) {
      seen = await r('cluster_smoke').select('id').catch(() => []);
      if (seen.length === 0) await new Promise((r) => setTimeout(r, 25));
    }
    expect(seen).to.deep.equal([{ id: 1 }]);
    const refused = await r('cluster_smoke').insert({ id: 2 }).then(() => undefined, (err: { code?: string }) => err);
    expect(refused).to.have.property('code', '25006');
    await p.schema.dropTable('cluster_smoke');
  });
});
