import type { DialectAdapter } from './dialects/dialect-adapter';
import { ConnectionLostError, FailurePhase, KnexConcurrencyError, RetryableError } from './errors';

/** Where a driver error arose, which decides what its typed error promises. */
export interface FailureContext {
  readonly phase: FailurePhase;
  /** The statement ran inside `db.transaction()`. */
  readonly inTransaction: boolean;
  /** The statement could have changed rows (anything but a SELECT). */
  readonly write: boolean;
}

// One driver error can be seen twice, by the transaction's `query-error`
// watcher and by the code that awaited the statement: both must hand out the
// same typed error, so that the one `db.transaction()` rethrows is the one
// the caller caught inside it.
const translated = new WeakMap<object, KnexConcurrencyError>();

/**
 * A driver error -> the library's typed error when the adapter recognises
 * it (`RetryableError`, `ConnectionLostError`, with the driver error as
 * `cause`); anything else is returned unchanged.
 */
export function translateError(adapter: DialectAdapter, err: unknown, context: FailureContext): unknown {
  if (err === null || typeof err !== 'object' || err instanceof KnexConcurrencyError) return err;
  const known = translated.get(err);
  if (known !== undefined) return known;
  const c = adapter.classifyError(err);
  if (c === undefined) return err;
  const details = { dialect: adapter.name, code: c.code, label: c.label, phase: context.phase, inTransaction: context.inTransaction };
  const typed = c.kind === 'connection-lost' ? new ConnectionLostError({ ...details, write: context.write }, err) : new RetryableError(c.kind, details, err);
  translated.set(err, typed);
  return typed;
}

/**
 * Makes the pool destroy `connection` instead of lending it again. Knex's
 * pool checks this mark when it validates a connection; its pg and mysql
 * clients set it themselves once the socket's `end` or `error` event
 * arrives, which can come after the connection is back in the pool.
 */
export function discardConnection(connection: object, reason: unknown): void {
  (connection as { __knex__disposed?: unknown }).__knex__disposed = reason;
}
