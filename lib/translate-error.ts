import type { DialectAdapter, ErrorClassification } from './dialects/dialect-adapter';
import { ConnectionLostError, DatabaseUnavailableError, FailurePhase, KnexConcurrencyError, ReadOnlyDatabaseError, RetryableError, StatementTimeoutError } from './errors';

/** Where a driver error arose, which decides what its typed error promises. */
export interface FailureContext {
  readonly phase: FailurePhase;
  /** The statement ran inside `db.transaction()`. */
  readonly inTransaction: boolean;
  /** The statement could have changed rows (anything but a SELECT). */
  readonly write: boolean;
}

/** Getting a connection from the pool: nothing has been sent yet. */
export const CONNECTING: FailureContext = Object.freeze({ phase: 'connect', inTransaction: false, write: false });

// One driver error can be seen twice, by the transaction's `query-error`
// watcher and by the code that awaited the statement: both must hand out the
// same typed error, so that the one `db.transaction()` rethrows is the one
// the caller caught inside it.
const translated = new WeakMap<object, KnexConcurrencyError>();

/**
 * Knex's own pool error: no connection came free before the acquire
 * timeout. Knex uses the same class for query timeouts, hence the message.
 */
function poolTimeout(err: object): ErrorClassification | undefined {
  const e = err as { name?: unknown; message?: unknown };
  if (e.name !== 'KnexTimeoutError' || !/acquiring a connection/.test(String(e.message))) return undefined;
  return { kind: 'unavailable', code: 'KnexTimeoutError', label: 'Knex: timeout acquiring a connection from the pool', reason: 'pool-timeout' };
}

/**
 * A driver error -> the library's typed error when the adapter recognises
 * it (`RetryableError`, `ConnectionLostError`, `StatementTimeoutError`,
 * `ReadOnlyDatabaseError`, `DatabaseUnavailableError`, with the driver error as `cause`); anything
 * else is returned unchanged. A connection that dies while it is being made
 * has sent nothing, so at the `'connect'` phase a lost connection is a
 * `DatabaseUnavailableError` too.
 */
export function translateError(adapter: DialectAdapter, err: unknown, context: FailureContext): unknown {
  if (err === null || typeof err !== 'object' || err instanceof KnexConcurrencyError) return err;
  const known = translated.get(err);
  if (known !== undefined) return known;
  const c = adapter.classifyError(err) ?? poolTimeout(err);
  if (c === undefined) {
    explainMissingColumn(adapter, err);
    return err;
  }
  const details = { dialect: adapter.name, code: c.code, label: c.label, phase: context.phase, inTransaction: context.inTransaction };
  let typed: KnexConcurrencyError;
  // No connection was had, whichever call met it: the error is about connecting.
  if (c.kind === 'unavailable' || (c.kind === 'connection-lost' && context.phase === 'connect')) typed = new DatabaseUnavailableError(c.reason ?? 'dropped', { ...details, phase: 'connect' }, err);
  else if (c.kind === 'connection-lost') typed = new ConnectionLostError({ ...details, write: context.write }, err);
  else if (c.kind === 'statement-timeout') typed = new StatementTimeoutError(details, err);
  else if (c.kind === 'read-only') typed = new ReadOnlyDatabaseError(details, err);
  else typed = new RetryableError(c.kind, details, err);
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

const explained = new WeakSet<object>();

/**
 * A table without a column a model needs (most often the version column of
 * a table made before the model had one) fails with the driver's terse error.
 * The error stays the driver's (it passes through, as documented), but its
 * message gains the fix.
 */
function explainMissingColumn(adapter: DialectAdapter, err: object): void {
  const column = adapter.missingColumn(err);
  const e = err as { message?: unknown };
  if (column === undefined || explained.has(err) || typeof e.message !== 'string') return;
  explained.add(err);
  e.message +=
    ` (knex-concurrency: the table has no column "${column}". If it is a model's version column, add it in a migration: ` +
    `addVersionColumn(t, '${column}'). \`knex-concurrency check --models <module>\` lists every column the models need and lack, ` +
    `and \`knex-concurrency make <name> --models <module>\` writes the migration.)`;
}
