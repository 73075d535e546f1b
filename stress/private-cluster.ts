/**
 * A Galera cluster or a PostgreSQL replica set of the stress harness's own,
 * for `--topology galera|replicas --faults restart|kill`: the faults crash
 * and restart a real member, which the shared cluster (`npm run cluster`,
 * used by the specs) must never suffer. It reuses cluster/galera-cluster.ts
 * and cluster/replica-set.ts with its own temporary directory under
 * KC_CLUSTER_DIR and its own ports: the shared cluster's plus
 * `PRIVATE_PORT_SHIFT`, or from `--port` (see `privateClusterConfig`).
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { ClusterConfig, clusterConfig, ClusterKind } from '../cluster/cluster-config';
import { ClusterState, pidsUnder } from '../cluster/cluster-state';
import { galeraNodes, galeraUp } from '../cluster/galera-cluster';
import { alive, killTree } from '../cluster/process-tree';
import { replicasUp } from '../cluster/replica-set';
import type { FaultTarget } from './fault-injector';
import { GaleraNodeFaults } from './galera-node-faults';
import { PrimaryFaults } from './primary-faults';
import type { StressTopology } from './stress-topology';

/** Added to the shared cluster's ports (KC_CLUSTER_PORT_OFFSET included), so the two never collide. */
export const PRIVATE_PORT_SHIFT = 50;

// The replica asks for WAL again this soon after losing the primary (5 s by
// default): reads from it stay stale no longer than that after a restart.
const REPLICA_SETTINGS = ['wal_retrieve_retry_interval=100ms'];

const PORT_VARIABLES = ['GALERA_PORT', 'GALERA_GROUP_PORT', 'GALERA_IST_PORT', 'GALERA_SST_PORT', 'PG_CLUSTER_PORT'];

/**
 * The private cluster's ports and directory: with `port`, Galera's SQL
 * ports from it (group, IST and SST ports 10, 20 and 30 above) or the
 * primary on it; otherwise the shared cluster's ports shifted by
 * `PRIVATE_PORT_SHIFT` (ports named in the environment for the shared
 * cluster are not followed: they would be the shared cluster's own).
 */
export function privateClusterConfig(port?: number, env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const own: NodeJS.ProcessEnv = { ...env };
  for (const name of PORT_VARIABLES) delete own[name];
  if (port === undefined) {
    own.KC_CLUSTER_PORT_OFFSET = String(Number(env.KC_CLUSTER_PORT_OFFSET ?? 0) + PRIVATE_PORT_SHIFT);
  } else {
    Object.assign(own, { GALERA_PORT: port, GALERA_GROUP_PORT: port + 10, GALERA_IST_PORT: port + 20, GALERA_SST_PORT: port + 30, PG_CLUSTER_PORT: port });
  }
  return clusterConfig(own);
}

function portsOf(kind: ClusterKind, c: ClusterConfig): number[] {
  if (kind === 'replicas') return Array.from({ length: c.replicas.replicas + 1 }, (_, i) => c.replicas.primary + i);
  const g = c.galera;
  return [g.sql, g.group, g.ist, g.sst].flatMap((p) => Array.from({ length: g.nodes }, (_, i) => p + i));
}

function inUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

export class PrivateCluster {
  readonly kind: ClusterKind;
  readonly config: ClusterConfig;
  readonly dir: string;
  #state: ClusterState | undefined;
  /** Current server pids, in the state's order (a restarted member gets a new one). */
  #pids: number[] = [];

  private constructor(kind: ClusterKind, config: ClusterConfig, dir: string) {
    this.kind = kind;
    this.config = config;
    this.dir = dir;
  }

  /** A cluster of `kind` in a fresh directory under KC_CLUSTER_DIR (not started). */
  static create(kind: ClusterKind, port?: number): PrivateCluster {
    const config = privateClusterConfig(port);
    fs.mkdirSync(config.dir, { recursive: true });
    const dir = fs.mkdtempSync(path.join(config.dir, `stress-${kind}-`));
    // mkdtemp makes it private to us; the servers run as their own users (see server-binaries.ts) and must reach their directories inside.
    fs.chmodSync(dir, 0o755);
    return new PrivateCluster(kind, config, dir);
  }

  /** Starts the cluster (Galera: 20-60 s, three nodes joining in turn; replicas: a few seconds). */
  async start(log: (line: string) => void = () => undefined): Promise<void> {
    const busy: number[] = [];
    for (const p of portsOf(this.kind, this.config)) if (await inUse(p)) busy.push(p);
    if (busy.length > 0) throw new Error(`the private ${this.kind} cluster's ports are taken: ${busy.join(', ')} (choose others with --port)`);
    this.#state =
      this.kind === 'galera'
        ? await galeraUp(this.config, path.join(this.dir, 'galera'), log)
        : await replicasUp(this.config, path.join(this.dir, 'replicas'), { sync: false, settings: REPLICA_SETTINGS }, log);
    this.#pids = [...this.#state.pids];
  }

  /** The topology the stress processes spread over. */
  topology(): StressTopology {
    const env = this.#started().env;
    const list = (v: string | undefined): string[] => (v ?? '').split(',').filter(Boolean);
    if (this.kind === 'galera') {
      const nodes = list(env.GALERA_URLS);
      return { name: 'galera', dialect: 'mysql', url: nodes[0], nodes };
    }
    return { name: 'replicas', dialect: 'postgres', url: env.PG_PRIMARY_URL, replicas: list(env.PG_REPLICA_URLS) };
  }

  /**
   * What the faults strike. Galera: one node at a time, node 1 first, then
   * the next (the one node 1's clients failed over to), so that every fault
   * strikes a node clients are pinned to. Replicas: the primary.
   */
  target(): FaultTarget {
    const state = this.#started();
    const url = this.topology().url!;
    if (this.kind === 'galera') return new GaleraNodeFaults(galeraNodes(this.config, state.dir), this.#pids, url);
    return new PrimaryFaults(state.dir, this.config.replicas.primary, this.#pids, url, REPLICA_SETTINGS);
  }

  /** Kills every server of the cluster (what it holds is thrown away) and removes its directory. */
  async destroy(): Promise<void> {
    const pids = new Set([...this.#pids, ...pidsUnder(this.dir)]);
    for (const pid of pids) if (alive(pid)) await killTree(pid);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  #started(): ClusterState {
    if (this.#state === undefined) throw new Error(`the private ${this.kind} cluster is not started`);
    return this.#state;
  }
}
