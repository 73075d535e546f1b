import type { Knex } from 'knex';
import { ConnectionLease, type LeaseClient } from './connection-lease';
import type { Database } from './database';
import type { ExecResult, KnexClientQuery, KnexQueryObject, StatementToRun } from './dialects/dialect-adapter';
import type { Session } from './transactions/session';

/** A statement ready to run: SQL with `?` placeholders and its bindings (see `StatementToRun`). */
export type Statement = StatementToRun;

interface ClientInternals extends KnexClientQuery, LeaseClient {}

/**
 * Runs one statement of `session`: on a pool connection, or in its
 * transaction, in turn on the transaction's connection (see
 * `TransactionFrame.run`). Returns the driver's answer normalised by the
 * adapter. A driver error the adapter recognises leaves as the library's
 * typed error (`RetryableError`, `ConnectionLostError`...); a dead
 * connection is dropped from the pool before it is released.
 */
export function execute(db: Database, session: Session, stmt: Statement): Promise<ExecResult> {
  const frame = session.frame;
  if (frame === undefined) return executeOn(db, session.runner, stmt, false);
  return session.run(() => executeOn(db, frame.trx, stmt, true));
}

/**
 * Runs the statement through Knex's `client.query()` on the connection Knex
 * lends (the pool's, or the transaction's), so that Knex's `query` events,
 * bindings and transaction checks all apply; the dialect adapter may keep
 * the statement prepared on that connection. Outside a transaction the
 * connection comes from the client's `ConnectionLease` when the previous
 * statement left one there in this turn of the event loop, else from the pool.
 */
function executeOn(db: Database, runner: Knex | Knex.Transaction, stmt: Statement, inTransaction: boolean): Promise<ExecResult> {
  const client = runner.client as unknown as ClientInternals;
  const lease = inTransaction ? undefined : ConnectionLease.of(client);
  const held = lease?.take();
  if (held !== undefined) return runOn(db, client, held, stmt, lease);
  return client.acquireConnection().then(
    (connection) => runOn(db, client, connection, stmt, lease),
    (err: unknown) => {
      throw db.failure(err, { phase: 'connect', inTransaction, write: false });
    },
  );
}

// A chain, not an async function: this runs once per statement, and every promise costs (see scope.ts).
function runOn(db: Database, client: ClientInternals, connection: object, stmt: Statement, lease: ConnectionLease | undefined): Promise<ExecResult> {
  const inTransaction = lease === undefined;
  // The failure's type is decided (a dead connection marked so) before the connection goes back.
  const fail = (err: unknown): Promise<never> => {
    const typed = db.failure(err, { phase: 'statement', inTransaction, write: stmt.method !== 'select' }, connection);
    return release(client, connection, lease, false).then(() => {
      throw typed;
    });
  };
  let running: Promise<KnexQueryObject>;
  try {
    db.checkConnection(connection);
    running = db.adapter.run(client, connection, stmt);
  } catch (err) {
    return fail(err);
  }
  return running.then((obj) => {
    let result: ExecResult;
    try {
      result = db.adapter.normalize(obj);
    } catch (err) {
      return fail(err);
    }
    const released = release(client, connection, lease, true);
    return released === DONE ? result : released.then(() => result);
  }, fail);
}

const DONE = Promise.resolve();

/** Hands the connection back: to the lease (at once), or to Knex (a transaction's client, which may wait). */
function release(client: ClientInternals, connection: object, lease: ConnectionLease | undefined, ok: boolean): Promise<unknown> {
  if (lease === undefined) return client.releaseConnection(connection);
  lease.give(connection, ok);
  return DONE;
}

/**
 * Runs `work`, which issues Knex queries of its own on the runner it is
 * given, as one statement of `session`: in turn on a transaction's
 * connection, like `execute`. Driver errors are translated the same way.
 */
export async function runKnex<T>(db: Database, session: Session, write: boolean, work: (runner: Knex | Knex.Transaction) => Promise<T>): Promise<T> {
  const frame = session.frame;
  const attempt = (): Promise<T> =>
    work(session.runner).catch((err: unknown) => {
      throw db.failure(err, { phase: 'statement', inTransaction: frame !== undefined, write });
    });
  return frame === undefined ? attempt() : session.run(attempt);
}
