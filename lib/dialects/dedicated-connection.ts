import knexFactory, { Knex } from 'knex';

/**
 * One connection, taken out of a private one-connection pool and kept until
 * `close()`, so that session state (a lock) stays on it: a pool would hand
 * it to other queries, and reap it when idle, silently dropping the lock.
 */
export class DedicatedConnection {
  readonly #knex: Knex;
  #connection: unknown;

  /** A new connection configured like `knex`'s, outside its pool. */
  constructor(knex: Knex) {
    const config = (knex.client as { config: Knex.Config }).config;
    this.#knex = knexFactory({ ...config, pool: { min: 0, max: 1 } });
  }

  /** Runs one statement on the connection; returns the driver's raw result. */
  async raw<T = unknown>(sql: string, bindings: readonly Knex.RawBinding[] = []): Promise<T> {
    if (this.#connection === undefined) this.#connection = await (this.#knex.client as KnexClient).acquireConnection();
    return (await this.#knex.raw(sql, bindings as Knex.RawBinding[]).connection(this.#connection)) as T;
  }

  async close(): Promise<void> {
    const connection = this.#connection;
    this.#connection = undefined;
    if (connection !== undefined) await (this.#knex.client as KnexClient).releaseConnection(connection);
    await this.#knex.destroy();
  }
}

interface KnexClient {
  acquireConnection(): Promise<unknown>;
  releaseConnection(connection: unknown): Promise<unknown>;
}
