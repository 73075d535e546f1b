import type { Knex } from 'knex';
import type { Database } from './database';
import type { ExecResult, KnexClientQuery, StatementToRun } from './dialects/dialect-adapter';

/** A statement ready to run: SQL with `?` placeholders and its bindings (see `StatementToRun`). */
export type Statement = StatementToRun;

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
