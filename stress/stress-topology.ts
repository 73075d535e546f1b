import type { ConnectTarget } from '../lib';

/**
 * The clusters a stress run can spread over (`--topology`), read from the
 * variables `npm run cluster -- up galera|replicas` prints:
 *
 * - `galera`: `GALERA_URLS`; each process works on another node (its node
 *   list starts at a different one), so saves race across nodes;
 * - `replicas`: `PG_PRIMARY_URL` and `PG_REPLICA_URLS`; every process reads
 *   from the replicas and writes to the primary;
 * - `serializable`: PostgreSQL (the test server, or `--url`) with every
 *   save in a SERIALIZABLE transaction, as CockroachDB and YugabyteDB run
 *   them: conflicts then come as 40001, at the UPDATE or at COMMIT. Half the
 *   workers read in the same transaction, half before it (see the worker).
 */
export type TopologyName = 'galera' | 'replicas' | 'serializable';

export const TOPOLOGIES: readonly TopologyName[] = ['galera', 'replicas', 'serializable'];

export interface StressTopology {
  readonly name: TopologyName;
  readonly dialect: 'postgres' | 'mysql';
  /** Where the parent creates and checks the table: the primary, or the first node. */
  readonly url: string | undefined;
  readonly nodes?: readonly string[];
  readonly replicas?: readonly string[];
  /** Increments run in transactions at this isolation level. */
  readonly isolation?: 'serializable';
  /** Where the processes (not the parent) reach the primary, when not at `url` (a member cut off by faults). */
  readonly workerPrimary?: string;
}

function urls(name: string): string[] {
  return (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
}

const START = 'start it with: npm run cluster -- up';

/** Whether the environment names a running cluster of `name` (the variables `npm run cluster -- up` prints). */
export function clusterInEnvironment(name: 'galera' | 'replicas'): boolean {
  return name === 'galera' ? urls('GALERA_URLS').length > 0 : urls('PG_PRIMARY_URL').length > 0 && urls('PG_REPLICA_URLS').length > 0;
}

export function stressTopology(name: TopologyName): StressTopology {
  if (name === 'galera') {
    const nodes = urls('GALERA_URLS');
    if (nodes.length === 0) throw new Error(`--topology galera needs GALERA_URLS (${START} galera)`);
    return { name, dialect: 'mysql', url: nodes[0], nodes };
  }
  if (name === 'replicas') {
    const [primary] = urls('PG_PRIMARY_URL');
    const replicas = urls('PG_REPLICA_URLS');
    if (primary === undefined || replicas.length === 0) throw new Error(`--topology replicas needs PG_PRIMARY_URL and PG_REPLICA_URLS (${START} replicas)`);
    return { name, dialect: 'postgres', url: primary, replicas };
  }
  return { name, dialect: 'postgres', url: undefined, isolation: 'serializable' };
}

/** What stress process number `process` connects to. */
export function connectTargetFor(topology: StressTopology, url: string, process: number): ConnectTarget {
  if (topology.nodes !== undefined) {
    const n = topology.nodes.length;
    return { nodes: Array.from({ length: n }, (_, i) => topology.nodes![(process + i) % n]!) };
  }
  if (topology.replicas !== undefined) return { primary: topology.workerPrimary ?? url, replicas: topology.replicas };
  return url;
}

/**
 * The topology the processes see while faults cut one member off (see
 * member-cut.ts): Galera's first node (processes 0 and 3 are pinned to it
 * and must fail over), or the PostgreSQL primary (writes fail typed while
 * reads stay on the replica). `cutUrl` reaches that member through the cut.
 */
export function withCutMember(topology: StressTopology, cutUrl: string): StressTopology {
  if (topology.nodes !== undefined) return { ...topology, nodes: [cutUrl, ...topology.nodes.slice(1)] };
  return { ...topology, workerPrimary: cutUrl };
}

/** The member faults cut off, and its name for the report. */
export function memberToCut(topology: StressTopology): { url: string; name: string } | undefined {
  if (topology.nodes !== undefined) return { url: topology.nodes[0]!, name: 'Galera node 1' };
  if (topology.replicas !== undefined) return { url: topology.url!, name: 'the PostgreSQL primary' };
  return undefined;
}
