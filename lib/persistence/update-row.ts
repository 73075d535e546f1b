import { RetryableError } from '../errors';
import { abortedWrite } from './conflict';
import type { UpdateResult, RowUpdate } from './version-strategy';
import { versionStrategyFor } from './version-strategy-for';

/**
 * The compare-and-swap update: `UPDATE t SET <changed>, version = <next>
 * WHERE pk = ? AND version = ?`, by the rule of the model's kind of
 * version. Rejects with `RecordModifiedError` / `RecordDeletedError` when no
 * row matched, leaving the row untouched; a rejection of another kind goes
 * through `updateFailure` before it reaches the caller.
 */
export function updateRow(write: RowUpdate): Promise<UpdateResult> {
  // A chain, not an async function: this runs once per save, and every promise costs (see transactions/scope.ts).
  try {
    return versionStrategyFor(write.meta).update(write);
  } catch (err) {
    return Promise.reject(err);
  }
}

/**
 * What a failed `updateRow` reports: when the database aborted the write
 * outside a transaction because the row changed (a `RetryableError` of a
 * checked write), the conflict it was (see `abortedWrite`), read in the
 * write's session before it ends; `undefined` when `err` is the answer.
 * Kept apart from `updateRow` so that a save that succeeds pays for no
 * `.catch()`.
 */
export function updateFailure(write: RowUpdate, err: unknown): Promise<unknown> | undefined {
  if (!(err instanceof RetryableError) || !write.policy.check) return undefined;
  return abortedWrite(write.db, write.session, write.meta, write.target, write.pk, 'update', write.policy.held, err);
}
