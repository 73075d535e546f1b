import type { UpdateResult, RowUpdate } from './version-strategy';
import { versionStrategyFor } from './version-strategy-for';

/**
 * The compare-and-swap update: `UPDATE t SET <changed>, version = <next>
 * WHERE pk = ? AND version = ?`, by the rule of the model's kind of
 * version. Throws `RecordModifiedError` / `RecordDeletedError` when no row
 * matched, leaving the row untouched.
 */
export function updateRow(write: RowUpdate): Promise<UpdateResult> {
  return versionStrategyFor(write.meta).update(write);
}
