import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { CliResult, REPO_ROOT, runCli, startCli, waitForFile } from './migrate-fixtures';
import { describeCluster } from './support/clusters';
import { RUN_DB } from './support/dialects';
import { withDatabase } from './support/server-databases';

/**
 * bin/migrate on the clusters: runners on three different Galera nodes
 * (where GET_LOCK holds on one node only) apply each migration exactly once
 * under the cluster's lease lock; a killed runner's lease is taken over, a
 * live one's never; a node where DDL would not reach the whole cluster is
 * refused; and a PostgreSQL replica is refused with a clear message.
 */
const DIR = path.join(REPO_ROOT, '.kc-tmp', RUN_DB, 'cluster-migrate');
const DATABASE = `${RUN_DB}_cluster_migrate`;

/** A migration that records each run of it, and takes a moment, to widen any race; optionally hangs where the spec kills it. */
function tracingMigration(name: string, options: { createTable?: boolean } = {}): string {
  return `import * as fs from 'node:fs';
import type { Knex } from 'knex';
export const config = { transaction: false };
export async function up(knex: Knex): Promise<void> {
  ${options.createTable ? "if (!(await knex.schema.hasTable('runs'))) await knex.schema.createTable('runs', (t) => { t.increments('id'); t.string('migration', 100); t.integer('pid'); });" : ''}
  await knex('runs').insert({ migration: '${name}', pid: process.pid });
  const signal = process.env.KC_HANG_SIGNAL;
  if (signal) {
    fs.writeFileSync(signal, String(process.pid));
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  }
  await new Promise((resolve) => setTimeout(resolve, 150));
}
export async function down(): Promise<void> {}
`;
}

function describeAll(results: readonly CliResult[]): string {
  return results.map((r, i) => `#${i} exit ${r.code}\n${r.stdout}${r.stderr}`).join('\n');
}

function mysqlKnex(url: string, database?: string): Knex {
  const afterCreate = (conn: { query(sql: string, cb: (e: Error | null) => void): void }, done: (e: Error | null, c: unknown) => void) =>
    conn.query('SET SESSION wsrep_sync_wait = 1', (e) => done(e, conn));
  return knexFactory({ client: 'mysql2', connection: database === undefined ? url : withDatabase(url, database), pool: { min: 0, max: 2, afterCreate } });
}

describeCluster('galera', 'bin/migrate on three Galera nodes', (cluster) => {
  let admin: Knex;
  let db: Knex;
  let urls: string[] = [];

  const run = (node: number, args: string[] = [], env?: Record<string, string>) => runCli([...args, '--url', urls[node]!, '--dir', DIR], { env });
  const applied = async (): Promise<string[]> => (await db('runs').orderBy('id').select('migration')).map((r: { migration: string }) => r.migration);
  const recorded = async (): Promise<string[]> => (await db('knex_migrations').orderBy('id').select('name')).map((r: { name: string }) => r.name);
  const lockRows = async (): Promise<number> => Number((await db('knex_migrations_cluster_lock').count({ n: '*' }))[0]!.n);

  before(() => {
    admin = mysqlKnex(cluster().nodes[0]!);
    urls = cluster().nodes.map((u) => withDatabase(u, DATABASE));
  });
  beforeEach(async () => {
    fs.rmSync(DIR, { recursive: true, force: true });
    fs.mkdirSync(DIR, { recursive: true });
    await admin.raw(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
    await admin.raw(`CREATE DATABASE \`${DATABASE}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    db = mysqlKnex(cluster().nodes[0]!, DATABASE);
    fs.writeFileSync(path.join(DIR, '001_runs.ts'), tracingMigration('001', { createTable: true }));
    fs.writeFileSync(path.join(DIR, '002_second.ts'), tracingMigration('002'));
    fs.writeFileSync(path.join(DIR, '003_third.ts'), tracingMigration('003'));
  });
  afterEach(async () => {
    await db.destroy();
  });
  after(async () => {
    // Mocha runs after hooks of a block its cluster check skipped, before() never having run.
    if (admin === undefined) return;
    await admin.raw(`DROP DATABASE IF EXISTS \`${DATABASE}\``);
    await admin.destroy();
    fs.rmSync(DIR, { recursive: true, force: true });
  });

  it('GET_LOCK is not cluster-wide: two nodes both get the same named lock (why the lock is a certified row here)', async () => {
    const [a, b] = [mysqlKnex(cluster().nodes[0]!), mysqlKnex(cluster().nodes[1]!)];
    try {
      await a.transaction(async (ta) => {
        const [[x]] = await ta.raw("SELECT GET_LOCK('kc-spec-same-name', 0) AS ok");
        const [[y]] = await b.raw("SELECT GET_LOCK('kc-spec-same-name', 0) AS ok");
        // Recent MariaDB releases refuse GET_LOCK with wsrep_on (error 1235) instead.
        expect([x.ok, y.ok]).to.deep.equal([1, 1]);
        await ta.raw("SELECT RELEASE_LOCK('kc-spec-same-name')");
      });
    } catch (err) {
      expect((err as { errno?: number }).errno).to.equal(1235);
    } finally {
      await Promise.all([a.destroy(), b.destroy()]);
    }
  });

  it('six runners, two on each node, at once: each migration applied exactly once by one runner, every runner exits 0', async function () {
    this.timeout(90_000);
    const results = await Promise.all([0, 1, 2, 0, 1, 2].map((node) => run(node)));
    expect(results.map((r) => r.code), describeAll(results)).to.deep.equal([0, 0, 0, 0, 0, 0]);
    const appliers = results.filter((r) => r.stdout.includes('Batch 1 applied: 3 migrations'));
    const idle = results.filter((r) => r.stdout.includes('Already up to date'));
    expect([appliers.length, idle.length], describeAll(results)).to.deep.equal([1, 5]);
    expect(await applied()).to.deep.equal(['001', '002', '003']);
    expect(await recorded()).to.deep.equal(['001_runs.ts', '002_second.ts', '003_third.ts']);
    expect(await lockRows(), 'every runner released the lease').to.equal(0);
  });

  it("a runner killed while it holds the lease: the next runner, on another node, waits out the lease, takes it over and finishes the work", async function () {
    this.timeout(90_000);
    const signal = path.join(DIR, 'hang.signal');
    fs.writeFileSync(path.join(DIR, '002_second.ts'), tracingMigration('002').replace("process.env.KC_HANG_SIGNAL", "process.env.KC_HANG_SIGNAL_002"));
    const { child, done } = startCli(['--url', urls[0]!, '--dir', DIR], { env: { KC_HANG_SIGNAL_002: signal } });
    await Promise.race([waitForFile(signal), done.then((r) => Promise.reject(new Error(`the run ended early:\n${r.stdout}${r.stderr}`)))]);
    const pid = Number(fs.readFileSync(signal, 'utf8'));
    child.kill('SIGKILL');
    await done;
    const [held] = await db('knex_migrations_cluster_lock').select('holder', 'lease_ms');
    expect(held.holder).to.contain(`pid ${pid}`);
    // The killed runner's lease (30 s) shortened to 1 s, so the spec need not wait it out.
    await db('knex_migrations_cluster_lock').update({ lease_ms: 1000 });
    const started = Date.now();
    const next = await run(1);
    expect(next.code, next.stdout + next.stderr).to.equal(0);
    expect(next.stdout + next.stderr).to.contain(`pid ${pid}`);
    expect(Date.now() - started, 'it waited for the lease to run out').to.be.greaterThan(1000);
    // MariaDB commits DDL and autocommit writes as they run: 002's first run left its row.
    expect(await applied()).to.deep.equal(['001', '002', '002', '003']);
    expect(await recorded()).to.deep.equal(['001_runs.ts', '002_second.ts', '003_third.ts']);
    expect(await lockRows()).to.equal(0);
  });

  it('a live holder that keeps renewing is never taken over, however long the wait: the runner gives up at --lock-timeout (exit 4), nothing applied; once it stops, the lease is taken', async function () {
    this.timeout(60_000);
    await run(0, ['status']);
    await db.raw(
      'CREATE TABLE IF NOT EXISTS knex_migrations_cluster_lock (id INT NOT NULL PRIMARY KEY, holder VARCHAR(255) NOT NULL, token CHAR(32) NOT NULL, beat BIGINT NOT NULL, lease_ms INT NOT NULL) ENGINE=InnoDB',
    );
    await db('knex_migrations_cluster_lock').insert({ id: 1, holder: 'a live runner', token: 'f'.repeat(32), beat: 0, lease_ms: 500 });
    const renewing = setInterval(() => void db('knex_migrations_cluster_lock').increment('beat', 1).catch(() => undefined), 100);
    let waited: CliResult;
    try {
      waited = await run(2, ['--lock-timeout', '3']);
    } finally {
      clearInterval(renewing);
    }
    expect(waited.code, waited.stdout + waited.stderr).to.equal(4);
    expect(waited.stderr).to.contain('a live runner');
    expect(await db.schema.hasTable('runs')).to.equal(false);
    const after = await run(2, ['--lock-timeout', '10']);
    expect(after.code, after.stdout + after.stderr).to.equal(0);
    expect(await applied()).to.deep.equal(['001', '002', '003']);
  });

  it('a runner whose lease was taken over while it ran (stalled past its lease) says so and exits 1, never reports a clean run', async function () {
    this.timeout(60_000);
    const [signal, go] = [path.join(DIR, 'held.signal'), path.join(DIR, 'go.signal')];
    fs.writeFileSync(
      path.join(DIR, '002_second.ts'),
      `import * as fs from 'node:fs';
import type { Knex } from 'knex';
export async function up(knex: Knex): Promise<void> {
  fs.writeFileSync(${JSON.stringify(signal)}, '');
  while (!fs.existsSync(${JSON.stringify(go)})) await new Promise((resolve) => setTimeout(resolve, 50));
}
export async function down(): Promise<void> {}
`,
    );
    const { done } = startCli(['--url', urls[0]!, '--dir', DIR]);
    await Promise.race([waitForFile(signal), done.then((r) => Promise.reject(new Error(`the run ended early:\n${r.stdout}${r.stderr}`)))]);
    // What a successor does to a lease it saw go unrenewed.
    await db('knex_migrations_cluster_lock').update({ holder: 'a successor', token: 'e'.repeat(32), beat: 0 });
    // The holder renews every 5 s: the next renewal finds the lease gone.
    await new Promise((resolve) => setTimeout(resolve, 6000));
    fs.writeFileSync(go, '');
    const r = await done;
    expect(r.code, r.stdout + r.stderr).to.equal(1);
    expect(r.stderr).to.match(/lost its Galera migration lease.*another runner took it over.*migrate status/);
    const [row] = await db('knex_migrations_cluster_lock').select('holder');
    expect(row.holder, "the successor's lease is left alone").to.equal('a successor');
  });

  it('a node whose DDL would change only itself (wsrep_OSU_method = RSU) is refused, naming why; nothing applied', async function () {
    const node3 = mysqlKnex(cluster().nodes[2]!);
    await node3.raw("SET GLOBAL wsrep_OSU_method = 'RSU'");
    let refused: CliResult;
    try {
      refused = await run(2);
    } finally {
      await node3.raw("SET GLOBAL wsrep_OSU_method = 'TOI'");
      await node3.destroy();
    }
    expect(refused.code, refused.stdout + refused.stderr).to.equal(1);
    expect(refused.stderr, refused.stderr).to.match(/migrations refused: this Galera node applies DDL with wsrep_OSU_method = RSU, which changes this node only/);
    expect(await db.schema.hasTable('runs')).to.equal(false);
    const ok = await run(2);
    expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
  });
});

describeCluster('replicas', 'bin/migrate against a PostgreSQL replica', (cluster) => {
  const dir = path.join(REPO_ROOT, '.kc-tmp', RUN_DB, 'replica-migrate');
  before(() => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, '001_runs.ts'), tracingMigration('001', { createTable: true }));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses with a message that says it is a replica (SQLSTATE 25006) and to use the primary; exit 1, nothing tried', async function () {
    const r = await runCli(['--url', cluster().replicas[0]!, '--dir', dir]);
    expect(r.code, r.stdout + r.stderr).to.equal(1);
    expect(r.stderr).to.match(/migrations refused: this PostgreSQL server is a replica .*25006.*primary/);
    expect(r.stderr).not.to.match(/read-only transaction|cannot execute/);
    // status only reads, and works there.
    const status = await runCli(['status', '--url', cluster().replicas[0]!, '--dir', dir]);
    expect(status.stdout + status.stderr).not.to.match(/refused/);
  });
});
