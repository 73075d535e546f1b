import { connect, Database } from '../../lib';
import { configForUrl } from '../../lib/dialects/adapter-for';
import type { DialectContext } from './for-each-dialect';
import type { TestDialectName } from './dialects';

/** One way of connecting to a dialect's test database, for specs that must hold on each. */
export interface ConnectionVariant {
  readonly label: string;
  open(d: DialectContext): Database;
}

const SHARED: ConnectionVariant = { label: 'default pool', open: (d) => d.db };

/** A pool of exactly one connection: every call, in or out of a transaction, queues for it. */
const POOL_OF_ONE: ConnectionVariant = {
  label: 'pool of one',
  open: (d) => connect({ ...configForUrl(d.url), pool: { min: 1, max: 1 } }),
};

/** SQLite in memory: one connection by design. */
const SQLITE_MEMORY: ConnectionVariant = { label: 'sqlite :memory:', open: () => connect('sqlite::memory:') };

const VARIANTS: Record<TestDialectName, readonly ConnectionVariant[]> = {
  sqlite: [SHARED, POOL_OF_ONE, SQLITE_MEMORY],
  postgres: [SHARED, POOL_OF_ONE],
  mysql: [SHARED, POOL_OF_ONE],
};

/** The ways of connecting a transaction spec must hold on for `d`'s dialect. */
export function connectionVariants(d: DialectContext): readonly ConnectionVariant[] {
  return d.pick(VARIANTS);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * `promise`, marked as observed now: a spec that checks its rejection later
 * (after a sleep) would otherwise leave it unhandled in between.
 */
export function observed<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}
