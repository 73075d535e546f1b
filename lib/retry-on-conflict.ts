import { databaseOfError, type ConcurrencyMonitor } from './concurrency-monitor';
import { BatchConflictError, RecordDeletedError, RecordModifiedError, RetryableError, UsageError } from './errors';
import { databaseOf } from './model-binding';
import { currentScope } from './transactions/scope';

export interface RetryOptions {
  /** Runs in all, the first included (default 5). */
  attempts?: number;
  /**
   * Milliseconds to wait before run `attempt + 1`. The default is a random
   * 0..min(2^attempt, 100) ms, so contending workers spread out.
   */
  delayMs?: (attempt: number) => number;
}

const defaultDelay = (attempt: number): number => Math.random() * Math.min(2 ** attempt, 100);

/**
 * Errors worth running the whole read-modify-write again for: a conflict on
 * a row, or a transaction the database aborted (`RetryableError`). Never a
 * `ConnectionLostError`, whose write may have been applied, nor a
 * `DatabaseUnavailableError`, which lasts longer than the back-off.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof RetryableError) return true;
  // An atomic saveAll() wrote nothing; one that was not wrote part of its batch, and running it again would write that twice.
  if (err instanceof BatchConflictError) return err.atomic && err.deleted.length === 0;
  return err instanceof RecordModifiedError && !(err instanceof RecordDeletedError);
}

/**
 * Runs the read-modify-write `fn` again, from the start, when it throws
 * `RecordModifiedError`, an atomic `saveAll()`'s `BatchConflictError` (it
 * wrote nothing) or `RetryableError` (deadlock, serialization
 * failure, lock timeout, SQLite busy), up to `attempts` runs in all; then
 * rethrows the last error. `RecordDeletedError` is rethrown at once:
 * retrying cannot bring a row back. So is `ConnectionLostError`: its write
 * may have been applied, and repeating it blindly could apply it twice. A
 * `DatabaseUnavailableError` (the database could not be reached) is rethrown
 * too: nothing was written, but a restart outlasts the short back-off.
 * Open the transaction inside `fn`, so each run gets a fresh one; calling
 * this inside a transaction is refused, because every retry would see the
 * same snapshot. Each retry is reported to the database's `'retry'`
 * listeners (`db.on('retry', ...)`) and counted in `db.stats()`.
 *
 * @example
 * ```ts
 * await retryOnConflict(async () => {
 *   const c = await Counter.get(1);
 *   c.value += 1;
 *   await c.save();
 * }, { attempts: 10 });
 * ```
 */
export async function retryOnConflict<T>(fn: () => Promise<T> | T, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 5;
  if (!Number.isSafeInteger(attempts) || attempts < 1) throw new UsageError(`retryOnConflict(): attempts must be a positive integer, not ${String(attempts)}`);
  if (typeof fn !== 'function') throw new UsageError('retryOnConflict() takes a function to run');
  // A frame still in scope but over (a timer set inside a transaction) is no transaction to retry in.
  if (currentScope()?.frame?.isOpen === true) {
    throw new UsageError(
      'retryOnConflict() was called inside a transaction, where each retry would reuse the failed attempt\'s transaction; put the transaction inside: retryOnConflict(() => db.transaction(async () => { ... }))',
    );
  }
  const delay = options.delayMs ?? defaultDelay;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (attempt >= attempts || !isRetryable(err)) throw err;
      const ms = delay(attempt);
      reportRetry(err as Error, attempt, ms);
      if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    }
  }
}

/** Tells the database the failed run belonged to (its `'retry'` listeners and `stats()`) about the retry. */
function reportRetry(err: Error, attempt: number, delayMs: number): void {
  let db: { readonly monitor: ConcurrencyMonitor } | undefined;
  let model: string | undefined;
  let pk: unknown;
  if (err instanceof RecordModifiedError) {
    model = err.model;
    pk = err.pk;
    db = databaseOf(err.target.constructor);
  } else if (err instanceof BatchConflictError) {
    model = err.model;
    db = databaseOf(err.conflicts[0]!.target.constructor);
  } else {
    db = databaseOfError(err);
  }
  db?.monitor.retry({ model, pk, attempt, delayMs, error: err });
}
