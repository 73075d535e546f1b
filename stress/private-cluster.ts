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
import { startDaemon } from '../cluster/daemon';
import { galeraNodes, galeraUp, restartGaleraNode, waitGaleraSynced, type GaleraNode } from '../cluster/galera-cluster';
import { mysqlRows, pgRows, waitUntil } from '../cluster/probe';
import { alive, gone, killTree, processTree, signal } from '../cluster/process-tree';
import { replicaSetServerArgs, replicasUp } from '../cluster/replica-set';
import { postgresBin } from '../cluster/server-binaries';
import type { FaultTarget, MemberBack, StruckMember } from './fault-injector';
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
    return this.kind === 'galera' ? new GaleraNodeFaults(galeraNodes(this.config, state.dir), this.#pids, this.topology().url!) : new PrimaryFaults(state.dir, this.config.replicas.primary, this.#pids, this.topology().url!);
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

/** Stops `pid` with `sig` and waits until it and its children are gone (SIGKILL after `timeoutMs`). */
async function stopTree(pid: number, sig: NodeJS.Signals, timeoutMs = 60_000): Promise<void> {
  const pids = processTree(pid);
  signal(pid, sig);
  if (!(await gone(pids, timeoutMs))) await killTree(pid);
}

class GaleraNodeFaults implements FaultTarget {
  readonly #nodes: readonly GaleraNode[];
  readonly #pids: number[];
  readonly url: string;
  #next = 0;
  #down: number | undefined;

  constructor(nodes: readonly GaleraNode[], pids: number[], url: string) {
    this.#nodes = nodes;
    this.#pids = pids;
    this.url = url;
  }

  get next(): StruckMember {
    const node = this.#nodes[this.#next]!;
    // Node 1's clients moved to node 2 at the first fault, node 2's to node 3 at the next: each struck node has clients.
    return { name: `Galera node ${node.index}`, port: node.sql, clientsOn: true };
  }

  async kill(): Promise<void> {
    await killTree(this.#pids[this.#strike()]!);
  }

  async stop(mode: 'clean' | 'immediate'): Promise<void> {
    const i = this.#strike();
    // Immediate: InnoDB skips its flush and merge (the next start runs crash recovery); Galera still leaves the group in order.
    if (mode === 'immediate') await mysqlRows(this.#nodes[i]!.sql, 'SET GLOBAL innodb_fast_shutdown = 2').catch(() => undefined);
    await stopTree(this.#pids[i]!, 'SIGTERM');
  }

  async start(): Promise<MemberBack> {
    const i = this.#down;
    if (i === undefined) throw new Error('no Galera node is down');
    const node = this.#nodes[i]!;
    const log = path.join(node.dir, 'server.log');
    const from = fs.statSync(log).size;
    const t0 = Date.now();
    const { pid, startPosition } = await restartGaleraNode(node, this.#nodes);
    this.#pids[i] = pid;
    await waitGaleraSynced(node, pid, this.#nodes.length);
    const rejoinMs = Date.now() - t0;
    // Back means the whole cluster again: the donor, too, has caught up with what it queued while it donated.
    await Promise.all(this.#nodes.map((n, j) => (j === i ? undefined : waitGaleraSynced(n, this.#pids[j]!, this.#nodes.length))));
    this.#down = undefined;
    this.#next = (i + 1) % this.#nodes.length;
    const recovered = startPosition === undefined ? '' : ` from the position --wsrep-recover found (seqno ${startPosition.split(':')[1]})`;
    return { rejoinMs, note: `node ${node.index} ${transferIn(log, from)}${recovered}, Synced ${rejoinMs} ms after its start` };
  }

  #strike(): number {
    this.#down = this.#next;
    return this.#next;
  }
}

/** How a restarted Galera node caught up, from its log since `from` (bytes). */
function transferIn(logFile: string, from: number): string {
  const fd = fs.openSync(logFile, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    fs.readSync(fd, buf, 0, buf.length, from);
    const text = buf.toString('utf8');
    // With rsync, MariaDB runs its SST script either way: for an IST it only hands over the position ("rsync IST completed").
    const ist = /Receiving IST: (\d+) writesets/.exec(text);
    if (/rsync SST completed on joiner/.test(text)) return 'rejoined by a full state transfer (SST)';
    if (ist !== null) return `rejoined by an incremental state transfer (IST, ${ist[1]} write sets)`;
    return 'rejoined';
  } finally {
    fs.closeSync(fd);
  }
}

class PrimaryFaults implements FaultTarget {
  readonly #dir: string;
  readonly #port: number;
  readonly #pids: number[];
  readonly url: string;
  readonly next: StruckMember;

  constructor(dir: string, port: number, pids: number[], url: string) {
    this.#dir = path.join(dir, 'primary');
    this.#port = port;
    this.#pids = pids;
    this.url = url;
    this.next = { name: 'the PostgreSQL primary', port, clientsOn: true };
  }

  async kill(): Promise<void> {
    await killTree(this.#pids[0]!);
  }

  // SIGINT: fast shutdown (sessions get 57P01, WAL goes to the replica, a checkpoint). SIGQUIT: immediate (crash recovery at the next start).
  async stop(mode: 'clean' | 'immediate'): Promise<void> {
    await stopTree(this.#pids[0]!, mode === 'clean' ? 'SIGINT' : 'SIGQUIT');
  }

  async start(): Promise<MemberBack> {
    const pid = startDaemon(path.join(postgresBin()!, 'postgres'), replicaSetServerArgs(this.#dir, this.#port, REPLICA_SETTINGS), {
      user: 'postgres',
      logFile: path.join(this.#dir, 'server.log'),
    });
    this.#pids[0] = pid;
    const t0 = Date.now();
    await waitUntil('the PostgreSQL primary', async () => (await pgRows(this.#port, 'SELECT 1')).length === 1, { timeoutMs: 120_000, stillRunning: () => alive(pid) });
    const upAt = Date.now();
    // The replica serves reads all along; until it streams again they do not see new writes.
    await waitUntil(
      'the replica streaming again',
      async () => Number((await pgRows(this.#port, "SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'"))[0]?.n) > 0,
      { timeoutMs: 60_000 },
    );
    return { upAt, note: `primary answered ${upAt - t0} ms after its start, the replica streaming again ${Date.now() - upAt} ms later` };
  }
}
