import knexFactory, { Knex } from 'knex';
import { adapterForConfig, configForUrl } from '../dialects/adapter-for';
import type { DialectAdapter } from '../dialects/dialect-adapter';
import { UsageError } from '../errors';
import { letIdlePoolExit } from '../idle-pool';
import { consoleLogger, knexLog, type DatabaseLogger } from '../knex-log';
import { redactUrl } from '../redact-url';
import { typeAcquireFailures } from '../typed-acquire';
import { memberOf, type Member } from './member';
import { PinnedRoute } from './pinned-route';
import { routePool } from './route-pool';
import type { Router } from './router';
import { SpreadRoute } from './spread-route';
import { checkTopology, type MemberTarget, type Topology } from './topology';

function labelOf(target: MemberTarget): string {
  if (typeof target === 'string') return redactUrl(target);
  const c = target.connection as { host?: string; port?: number; filename?: string } | undefined;
  return c === undefined || typeof c !== 'object' ? String(target.client) : `${String(target.client)}://${c.host ?? c.filename ?? '?'}${c.port === undefined ? '' : `:${c.port}`}`;
}

/**
 * The Knex instances of a topology, each with its own pool, one adapter for
 * them all, and the routes between them (see `Router`).
 */
export function connectTopology(target: Topology, logger: Partial<DatabaseLogger> | undefined): { router: Router; adapter: DialectAdapter } {
  const topology = checkTopology(target);
  const targets = topology.kind === 'nodes' ? topology.nodes : [...(topology.primary === undefined ? [] : [topology.primary]), ...topology.replicas];
  const configs = targets.map((t) => (typeof t === 'string' ? configForUrl(t) : t));
  const adapter = adapterForConfig(configs[0]!, topology.kind === 'nodes');
  for (const [i, config] of configs.entries()) {
    const name = adapterForConfig(config).name;
    if (name !== adapter.name) throw new UsageError(`connect(): every server of a topology must be the same database; ${labelOf(targets[i]!)} is ${name}, ${labelOf(targets[0]!)} is ${adapter.name}`);
  }
  if (adapter.name === 'sqlite') throw new UsageError('connect(): SQLite has no replicas or nodes; connect to its file with a URL');
  const warn = (m: string): void => (logger?.warn ?? consoleLogger.warn)(m);
  const members: Member[] = configs.map((config, i) => {
    const log = config.log ?? knexLog(logger ?? (config.debug ? { ...consoleLogger, debug: (m: string) => console.log(m) } : consoleLogger));
    const knex: Knex = knexFactory(adapter.prepareConfig({ ...config, log }));
    typeAcquireFailures(knex, adapter);
    letIdlePoolExit(knex);
    return memberOf(knex, labelOf(targets[i]!));
  });
  const knexes = Object.freeze(members.map((m) => m.knex));
  if (topology.kind === 'nodes') {
    const front = members[0]!.knex;
    routePool(front, members, new PinnedRoute(members), warn);
    return { router: Object.freeze({ kind: 'nodes', writer: front, reader: front, members: knexes }), adapter };
  }
  const primary = topology.primary === undefined ? undefined : members[0];
  const replicas = primary === undefined ? members : members.slice(1);
  const reader = replicas.length > 0 ? replicas[0]!.knex : primary!.knex;
  if (replicas.length > 0) routePool(reader, primary === undefined ? replicas : [...replicas, primary], new SpreadRoute(replicas, primary), warn);
  return { router: Object.freeze({ kind: 'replicas', writer: primary?.knex, reader, members: knexes }), adapter };
}
