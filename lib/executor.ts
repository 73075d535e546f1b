import type { Knex } from 'knex';
import type { Database } from './database';
import type { ExecResult } from './dialects/dialect-adapter';

/** A statement ready to run: SQL with `?` placeholders and its bindings. */
export interface Statement {
  readonly sql: string;
  readonly bindings: readonly unknown[];
  /** Knex's method name, which picks the driver call (`run` vs `all` on SQLite). */
  readonly method: 'insert' | 'update' | 'del' | 'select';
  /** The SQL has a RETURNING clause. */
  readonly returning?: boolean;
}

interface ClientInternals {
  acquireConnection(): Promise<object>;
  releaseConnection(connection: object): Promise<unknown>;
  query(connection: object, obj: object): Promise<{ response?: unknown; context?: unknown; sql: string; bindings: unknown[]; method: string }>;
}

/**
 * Runs one prepared statement on a connection Knex lends (the pool's, or the
 * transaction's), so Knex's `query` events, bindings and transactions all
 * apply, and returns the driver's answer normalised by the dialect adapter.
 * A driver error the adapter recognises leaves as the library's typed error
 * (`RetryableError`, `ConnectionLostError`); a dead connection is dropped
 * from the pool before it is released.
 */
export async function execute(db: Database, runner: Knex | Knex.Transaction, stmt: Statement): Promise<ExecResult> {
  const client = runner.client as unknown as ClientInternals;
  const connection = await client.acquireConnection();
  try {
    db.checkConnection(connection);
    const obj = await client.query(connection, {
      sql: stmt.sql,
      bindings: stmt.bindings,
      method: stmt.method,
      returning: stmt.returning ? true : undefined,
      options: {},
    });
    return db.adapter.normalize(obj);
  } catch (err) {
    throw db.failure(err, { phase: 'statement', inTransaction: runner !== db.knex, write: stmt.method !== 'select' }, connection);
  } finally {
    await client.releaseConnection(connection);
  }
}
