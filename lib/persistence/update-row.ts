import { RetryableError } from '../errors';
import { abortedWrite } from './conflict';
import type { UpdateResult, RowUpdate } from './version-strategy';
import { versionStrategyFor } from './version-strategy-for';

/**
 * The compare-and-swap update: `UPDATE t SET <changed>, version = <next>
 * WHERE pk = ? AND version = ?`, by the rule of the model's kind of
 * version. Throws `RecordModifiedError` / `RecordDeletedError` when no row
 * matched, leaving the row untouched, and when the database aborted the
 * write outside a transaction because the row changed (see `abortedWrite`).
 */
export function updateRow(write: RowUpdate): Promise<UpdateResult> {
  // A chain, not an async function: this runs once per save, and every promise costs (see scope.ts).
  let running: Promise<UpdateResult>;
  try {
    running = versionStrategyFor(write.meta).update(write);
  } catch (err) {
    running = Promise.reject(err);
  }
  return running.catch(async (err: unknown) => {
    if (!(err instanceof RetryableError) || !write.policy.check) throw err;
    throw await abortedWrite(write.db, write.session, write.meta, write.target, write.pk, 'update', write.policy.held, err);
  });
}
