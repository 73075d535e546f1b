/**
 * Where `npm run cluster` keeps its servers: a directory and a set of ports
 * per cluster, from the environment, so that two runs on one machine (two
 * worktrees, say) can each have their own.
 *
 * - `KC_CLUSTER_DIR`: the directory (default `<tmp>/knex-concurrency-clusters`).
 * - `KC_CLUSTER_PORT_OFFSET`: added to every default port below.
 * - `GALERA_PORT` (3311): SQL port of node 1; nodes 2 and 3 take the next two.
 *   Galera's own ports follow the same pattern: `GALERA_GROUP_PORT` (4571),
 *   `GALERA_IST_PORT` (4581), `GALERA_SST_PORT` (4591).
 * - `PG_CLUSTER_PORT` (5441): the PostgreSQL primary; replicas take the next ports.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export type ClusterKind = 'galera' | 'replicas';

export const CLUSTER_KINDS: readonly ClusterKind[] = ['galera', 'replicas'];

export interface ClusterConfig {
  readonly dir: string;
  readonly galera: { readonly sql: number; readonly group: number; readonly ist: number; readonly sst: number; readonly nodes: number };
  readonly replicas: { readonly primary: number; readonly replicas: number };
}

function port(env: NodeJS.ProcessEnv, name: string, fallback: number, offset: number): number {
  const raw = env[name];
  const value = raw === undefined || raw === '' ? fallback + offset : Number(raw);
  if (!Number.isInteger(value) || value < 1024 || value > 65_000) throw new Error(`${name} must be a port number between 1024 and 65000, not ${raw}`);
  return value;
}

/** The configuration the environment asks for. */
export function clusterConfig(env: NodeJS.ProcessEnv = process.env): ClusterConfig {
  const offset = Number(env.KC_CLUSTER_PORT_OFFSET ?? 0);
  if (!Number.isInteger(offset) || offset < 0 || offset > 10_000) throw new Error(`KC_CLUSTER_PORT_OFFSET must be an integer from 0 to 10000, not ${env.KC_CLUSTER_PORT_OFFSET}`);
  return {
    dir: path.resolve(env.KC_CLUSTER_DIR || path.join(os.tmpdir(), 'knex-concurrency-clusters')),
    galera: {
      sql: port(env, 'GALERA_PORT', 3311, offset),
      group: port(env, 'GALERA_GROUP_PORT', 4571, offset),
      ist: port(env, 'GALERA_IST_PORT', 4581, offset),
      sst: port(env, 'GALERA_SST_PORT', 4591, offset),
      nodes: 3,
    },
    replicas: { primary: port(env, 'PG_CLUSTER_PORT', 5441, offset), replicas: 1 },
  };
}
