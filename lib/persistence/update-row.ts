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
export async function updateRow(write: RowUpdate): Promise<UpdateResult> {
  try {
    return await versionStrategyFor(write.meta).update(write);
  } catch (err) {
    if (!(err instanceof RetryableError) || !write.policy.check) throw err;
    throw await abortedWrite(write.db, write.session, write.meta, write.target, write.pk, 'update', write.policy.held, err);
  }
}
