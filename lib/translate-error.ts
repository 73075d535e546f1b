import type { DialectAdapter } from './dialects/dialect-adapter';
import { ConnectionLostError, FailurePhase, KnexConcurrencyError, RetryableError, StatementTimeoutError } from './errors';

/** Where a driver error arose, which decides what its typed error promises. */
export interface FailureContext {
  readonly phase: FailurePhase;
  /** The statement ran inside `db.transaction()`. */
  readonly inTransaction: boolean;
  /** The statement could have changed rows (anything but a SELECT). */
  readonly write: boolean;
  /** It failed waiting for a connection from the pool, before anything was sent. */
  readonly acquire?: boolean;
}

// One driver error can be seen twice, by the transaction's `query-error`
// watcher and by the code that awaited the statement: both must hand out the
// same typed error, so that the one `db.transaction()` rethrows is the one
// the caller caught inside it.
const translated = new WeakMap<object, KnexConcurrencyError>();

/**
 * A driver error -> the library's typed error when the adapter recognises
 * it (`RetryableError`, `ConnectionLostError`, `StatementTimeoutError`, with the driver error as
 * `cause`); anything else is returned unchanged.
 */
export function translateError(adapter: DialectAdapter, err: unknown, context: FailureContext): unknown {
  if (err === null || typeof err !== 'object' || err instanceof KnexConcurrencyError) return err;
  const known = translated.get(err);
  if (known !== undefined) return known;
  const c = adapter.classifyError(err);
  if (c === undefined) return err;
  const details = { dialect: adapter.name, code: c.code, label: c.label, phase: context.phase, inTransaction: context.inTransaction };
  const typed =
    c.kind === 'connection-lost'
      ? new ConnectionLostError({ ...details, write: context.write }, err)
      : c.kind === 'statement-timeout'
        ? new StatementTimeoutError(details, err)
        : new RetryableError(c.kind, details, err);
  translated.set(err, typed);
  return typed;
}

/**
 * Records that the library reported the driver error `err` as `typed` (a
 * trigger guard's failure as `MissingTriggerError`, say), so that a later
 * report of the same failure, such as the one `db.transaction()` makes when
 * the error ended the transaction, names the same typed error.
 */
export function recordTranslation(err: unknown, typed: KnexConcurrencyError): void {
  if (err !== null && typeof err === 'object') translated.set(err, typed);
}

/** The typed error the library reported for `err`, or `err` itself. */
export function reportedError(err: object): object {
  return translated.get(err) ?? err;
}
