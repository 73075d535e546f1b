import knexFactory, { Knex } from 'knex';
import { typeAcquireFailures } from '../typed-acquire';
import type { DialectAdapter } from './dialect-adapter';

interface KnexClient {
  config: Knex.Config;
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}

/**
 * One connection, taken out of a private one-connection pool and kept until
 * `close()`, so that session state (a lock) stays on it: a shared pool would
 * hand it to other queries, and reap it when idle, silently dropping the
 * lock. Opened on first use; usable again after `close()` (a new session).
 */
export class DedicatedConnection {
  readonly #config: Knex.Config;
  readonly #adapter: DialectAdapter;
  #open: { knex: Knex; connection: unknown } | undefined;

  /** A connection configured like `knex`'s, outside its pool; `adapter` (its dialect's) types a failure to connect. */
  constructor(knex: Knex, adapter: DialectAdapter) {
    this.#config = { ...(knex.client as KnexClient).config, pool: { min: 0, max: 1 } };
    this.#adapter = adapter;
  }

  /** Runs one statement on the connection; returns the driver's raw result. */
  async raw<T = unknown>(sql: string, bindings: readonly Knex.RawBinding[] = []): Promise<T> {
    if (this.#open === undefined) {
      const knex = knexFactory(this.#config);
      typeAcquireFailures(knex, this.#adapter);
      this.#open = { knex, connection: await (knex.client as KnexClient).acquireConnection() };
    }
    const { knex, connection } = this.#open;
    return (await knex.raw(sql, bindings as Knex.RawBinding[]).connection(connection)) as T;
  }

  async close(): Promise<void> {
    const open = this.#open;
    this.#open = undefined;
    if (open === undefined) return;
    await (open.knex.client as KnexClient).releaseConnection(open.connection);
    await open.knex.destroy();
  }
}
