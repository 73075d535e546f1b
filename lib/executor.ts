import type { Knex } from 'knex';
import type { Database } from './database';
import type { ExecResult, KnexClientQuery } from './dialects/dialect-adapter';

/** A statement ready to run: SQL with `?` placeholders and its bindings. */
export interface Statement {
  readonly sql: string;
  readonly bindings: readonly unknown[];
  /** Knex's method name, which picks the driver call (`run` vs `all` on SQLite). */
  readonly method: 'insert' | 'update' | 'del' | 'select';
  /** The SQL has a RETURNING clause. */
  readonly returning?: boolean;
  /**
   * Whether the dialect may keep the statement prepared on each connection
   * (default `true`: the library's SQL comes from a small fixed set, one
   * text per model and statement shape). `false` for text that varies with data.
   */
  readonly prepare?: boolean;
}

interface ClientInternals extends KnexClientQuery {
  acquireConnection(): Promise<object>;
  releaseConnection(connection: object): Promise<unknown>;
}

/**
 * Runs one statement on a connection Knex lends (the pool's, or the
 * transaction's) through Knex's `client.query()`, so Knex's `query` events,
 * bindings and transactions all apply; the dialect adapter may keep the
 * statement prepared on that connection. Returns the driver's answer
 * normalised by the adapter. A driver error the adapter recognises leaves as
 * the library's typed error (`RetryableError`, `ConnectionLostError`); a dead
 * connection is dropped from the pool before it is released.
 */
export async function execute(db: Database, runner: Knex | Knex.Transaction, stmt: Statement): Promise<ExecResult> {
  const client = runner.client as unknown as ClientInternals;
  const connection = await client.acquireConnection();
  try {
    db.checkConnection(connection);
    const obj = await db.adapter.run(client, connection, stmt);
    return db.adapter.normalize(obj);
  } catch (err) {
    throw db.failure(err, { phase: 'statement', inTransaction: runner !== db.knex, write: stmt.method !== 'select' }, connection);
  } finally {
    await client.releaseConnection(connection);
  }
}
