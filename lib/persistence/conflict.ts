import type { Database } from '../database';
import { Operation, RecordDeletedError, RecordModifiedError } from '../errors';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { noteCurrentRow } from '../report-conflict';
import { currentRow } from './row-reads';

/**
 * Builds the error for a write that matched no row: one extra read tells
 * modified from deleted, and, reading the whole row, gives the conflict
 * report what the row holds now at no extra cost.
 */
export async function conflict(
  db: Database,
  session: Session,
  meta: ModelMeta,
  target: object,
  pk: unknown,
  operation: Operation,
  held: number | undefined,
  checked: boolean,
): Promise<RecordModifiedError> {
  const expectedVersion = held ?? null;
  // Without a check, a write can only miss a row that is gone.
  const row = checked ? await currentRow(db, session, meta, pk) : null;
  const actual = row === null ? null : (row[meta.version!.name] as number | null);
  const details = { target, model: meta.modelName, pk, operation, expectedVersion };
  const err = actual === null ? new RecordDeletedError(details) : new RecordModifiedError({ ...details, actualVersion: actual });
  noteCurrentRow(err, row);
  return err;
}
