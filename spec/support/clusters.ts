/**
 * The local clusters the cluster specs run against, started by
 * `npm run cluster -- up galera|replicas` (see cluster/cli.ts), which prints
 * the variables read here:
 *
 * - `GALERA_URLS`: the three Galera nodes, comma-separated;
 * - `PG_PRIMARY_URL` and `PG_REPLICA_URLS`: a PostgreSQL primary and its replicas.
 *
 * The specs use the database named by `KC_TEST_DB` on each cluster (created
 * here), so parallel runs with different names do not collide. A cluster
 * whose variables are not set is skipped loudly, unless `REQUIRE_CLUSTERS=1`
 * (as in `.ci/run`), which makes it a failure.
 */
import { galeraUnavailable } from '../../cluster/galera-cluster';
import { replicasUnavailable } from '../../cluster/replica-set';
import { PrivateCluster } from '../../stress/private-cluster';
import { ensureMysqlDatabase, ensurePostgresDatabase, withDatabase } from './server-databases';
import { RUN_DB } from './dialects';

export type ClusterName = 'galera' | 'replicas';

export const REQUIRE_CLUSTERS = process.env.REQUIRE_CLUSTERS === '1';

export interface GaleraCluster {
  readonly kind: 'galera';
  /** This run's test database on each node, node 1 first. */
  readonly nodes: readonly string[];
}

export interface ReplicaCluster {
  readonly kind: 'replicas';
  /** This run's test database on the primary. */
  readonly primary: string;
  /** The same database on each replica. */
  readonly replicas: readonly string[];
}

export type ClusterTarget = GaleraCluster | ReplicaCluster;

function urls(name: string): string[] {
  return (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function prepare(name: ClusterName): Promise<ClusterTarget> {
  if (name === 'galera') {
    const nodes = urls('GALERA_URLS');
    if (nodes.length === 0) throw new Error('GALERA_URLS is not set (start one with: npm run cluster -- up galera)');
    // DDL on one node is replicated to the others before it returns (total order isolation).
    await ensureMysqlDatabase(RUN_DB, 5000, nodes[0]!);
    return { kind: 'galera', nodes: nodes.map((u) => withDatabase(u, RUN_DB)) };
  }
  const [primary] = urls('PG_PRIMARY_URL');
  const replicas = urls('PG_REPLICA_URLS');
  if (primary === undefined || replicas.length === 0) throw new Error('PG_PRIMARY_URL or PG_REPLICA_URLS is not set (start them with: npm run cluster -- up replicas)');
  const url = await ensurePostgresDatabase(RUN_DB, 5000, primary);
  // The replica replays the CREATE DATABASE shortly after the primary committed it.
  for (const replica of replicas) {
    for (let i = 0; ; i++) {
      try {
        await ensureReplicaHas(withDatabase(replica, RUN_DB));
        break;
      } catch (err) {
        if (i >= 100) throw err;
        await sleep(50);
      }
    }
  }
  return { kind: 'replicas', primary: url, replicas: replicas.map((u) => withDatabase(u, RUN_DB)) };
}

async function ensureReplicaHas(url: string): Promise<void> {
  const { Client } = require('pg') as { Client: new (c: object) => { connect(): Promise<void>; end(): Promise<void>; on(e: string, f: () => void): void } };
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
  } finally {
    await client.end().catch(() => undefined);
  }
}

const availability = new Map<ClusterName, Promise<ClusterTarget | Error>>();

/** Clusters skipped so far in this run, with the reason. */
export const skippedClusters = new Map<ClusterName, string>();

/** The cluster's URLs for this run, or an error saying why it is not there (checked once per run). */
export function clusterOf(name: ClusterName): Promise<ClusterTarget | Error> {
  let a = availability.get(name);
  if (a === undefined) {
    a = prepare(name).catch((err: Error) => err);
    availability.set(name, a);
  }
  return a;
}

/**
 * Declares `body` for one cluster, in a `describe` block whose `before`
 * hook finds the cluster (or skips loudly, or fails under
 * `REQUIRE_CLUSTERS=1`). `body` receives a getter: the target is known only
 * once the hook ran.
 *
 * @example
 * ```ts
 * describeCluster('galera', 'save() across nodes', (cluster) => {
 *   it('conflicts', async () => { const [a, b] = cluster().nodes; ... });
 * });
 * ```
 */
export function describeCluster<K extends ClusterName>(name: K, title: string, body: (cluster: () => Extract<ClusterTarget, { kind: K }>) => void): void {
  describe(`${title} [${name} cluster]`, function () {
    let target: Extract<ClusterTarget, { kind: K }> | undefined;
    before(async function () {
      this.timeout(60_000);
      const found = await clusterOf(name);
      if (found instanceof Error) {
        if (REQUIRE_CLUSTERS) throw new Error(`${name} cluster is not available: ${found.message} (REQUIRE_CLUSTERS=1 makes this a failure)`);
        if (!skippedClusters.has(name)) {
          skippedClusters.set(name, found.message);
          console.warn(`\n  !!! SKIPPING ${name.toUpperCase()} CLUSTER SPECS: ${found.message}\n`);
        }
        this.skip();
      }
      target = found as Extract<ClusterTarget, { kind: K }>;
    });
    body(() => {
      if (target === undefined) throw new Error('the cluster target is used outside a test or hook');
      return target;
    });
  });
}

const privateClusters = new Map<ClusterName, Promise<PrivateCluster>>();

/** Destroys the private clusters this run started (a root hook calls it once every spec has run). */
export async function destroyPrivateClusters(): Promise<void> {
  const started = [...privateClusters.values()];
  privateClusters.clear();
  for (const c of started) await (await c.catch(() => undefined))?.destroy();
}

/**
 * Like `describeCluster`, for specs that crash, restart or isolate a member
 * (which the shared cluster must never suffer): a private cluster
 * (stress/private-cluster.ts: its own directory and ports, the shared
 * cluster's shifted), started by the first block that needs it and shared
 * by the blocks of the run, which leave every member up and synced; it is
 * destroyed once every spec has run. It needs the server programs, not the
 * shared cluster; without them the block is skipped loudly, or fails under
 * `REQUIRE_CLUSTERS=1`.
 */
export function describePrivateCluster(name: ClusterName, title: string, body: (cluster: () => PrivateCluster) => void): void {
  describe(`${title} [private ${name} cluster]`, function () {
    let cluster: PrivateCluster | undefined;
    before(async function () {
      this.timeout(180_000);
      const why = name === 'galera' ? galeraUnavailable() : replicasUnavailable();
      if (why !== undefined) {
        if (REQUIRE_CLUSTERS) throw new Error(`a private ${name} cluster cannot run here: ${why} (REQUIRE_CLUSTERS=1 makes this a failure)`);
        skippedClusters.set(name, why);
        console.warn(`\n  !!! SKIPPING PRIVATE ${name.toUpperCase()} CLUSTER SPECS: ${why}\n`);
        this.skip();
      }
      let started = privateClusters.get(name);
      if (started === undefined) {
        const c = PrivateCluster.create(name);
        started = c.start().then(
          () => c,
          async (err: unknown) => {
            await c.destroy();
            throw err;
          },
        );
        privateClusters.set(name, started);
      }
      cluster = await started;
    });
    body(() => {
      if (cluster === undefined) throw new Error('the private cluster is used outside a test or hook');
      return cluster;
    });
  });
}
