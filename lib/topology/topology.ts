import type { Knex } from 'knex';
import type { PreparedStatementsOption } from '../dialects/prepared-statements-option';
import { UsageError } from '../errors';

/** One server of a topology: a database URL or a Knex config object. */
export type MemberTarget = string | (Knex.Config & PreparedStatementsOption);

/**
 * A primary that takes every write, with read replicas that serve plain
 * reads (PostgreSQL streaming replicas, MySQL/MariaDB replication). Without
 * `primary`, the database only reads: every call that needs the primary is
 * refused before any SQL.
 */
export interface ReplicaTopology {
  readonly primary?: MemberTarget;
  readonly replicas?: readonly MemberTarget[];
}

/**
 * Servers that all take writes (a MariaDB Galera cluster, a CockroachDB or
 * YugabyteDB cluster): the database works on the first that answers and
 * moves to the next when it cannot get a connection there.
 */
export interface NodesTopology {
  readonly nodes: readonly MemberTarget[];
}

export type Topology = ReplicaTopology | NodesTopology;

const KEYS = new Set(['primary', 'replicas', 'nodes']);

/** Whether a `connect()` target is a topology (and not a Knex config, which has `client`). */
export function isTopology(target: unknown): target is Topology {
  if (target === null || typeof target !== 'object' || Array.isArray(target) || 'client' in target) return false;
  return Object.keys(target).some((k) => KEYS.has(k));
}

function checkMember(where: string, member: unknown): MemberTarget {
  if (typeof member === 'string' && member !== '') return member;
  if (member !== null && typeof member === 'object' && !Array.isArray(member) && 'client' in member) return member as MemberTarget;
  throw new UsageError(`connect(): ${where} must be a database URL or a Knex config object with a client, not ${member === null ? 'null' : typeof member}`);
}

function checkList(where: string, list: unknown): MemberTarget[] {
  if (!Array.isArray(list)) throw new UsageError(`connect(): ${where} must be an array of database URLs or Knex configs`);
  return list.map((m, i) => checkMember(`${where}[${i}]`, m));
}

/** The topology's servers, checked: the roles it names, each a URL or a Knex config. */
export function checkTopology(target: Topology): { kind: 'replicas'; primary: MemberTarget | undefined; replicas: MemberTarget[] } | { kind: 'nodes'; nodes: MemberTarget[] } {
  const unknown = Object.keys(target).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) throw new UsageError(`connect(): unknown topology key ${unknown.join(', ')}; use { primary, replicas } or { nodes }`);
  if ('nodes' in target) {
    if ('primary' in target || 'replicas' in target) throw new UsageError('connect(): use either { nodes } (every server takes writes) or { primary, replicas }, not both');
    const nodes = checkList('nodes', target.nodes);
    if (nodes.length === 0) throw new UsageError('connect(): { nodes } needs at least one node');
    return { kind: 'nodes', nodes };
  }
  const primary = target.primary === undefined ? undefined : checkMember('primary', target.primary);
  const replicas = target.replicas === undefined ? [] : checkList('replicas', target.replicas);
  if (primary === undefined && replicas.length === 0) throw new UsageError('connect(): a topology needs a primary, replicas, or nodes');
  return { kind: 'replicas', primary, replicas };
}
