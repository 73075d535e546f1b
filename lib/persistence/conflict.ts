import type { Database } from '../database';
import { DatabaseValueError, Operation, RecordDeletedError, RecordModifiedError } from '../errors';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { noteCurrentRow } from '../report-conflict';
import { currentRow } from './row-reads';
import { unusableVersion, versionFromDb } from './version-value';

/**
 * Builds the error for a write that matched no row: one extra read tells
 * modified from deleted, and, reading the whole row, gives the conflict
 * report what the row holds now at no extra cost. A row whose version is
 * NULL or beyond 2^53 is neither: the read throws `DatabaseValueError`,
 * which says how to repair it. `belowLimit`: the write had no check but
 * refused a version at the limit, so a row that is there was refused for that.
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
  belowLimit = false,
): Promise<RecordModifiedError | DatabaseValueError> {
  const expectedVersion = held ?? null;
  // Without a check, a write can only miss a row that is gone (or, with the
  // limit, one whose version is at it).
  const raw = checked || belowLimit ? await currentRow(db, session, meta, pk) : null;
  const details = { target, model: meta.modelName, pk, operation, expectedVersion };
  if (raw === null) {
    const gone = new RecordDeletedError(details);
    noteCurrentRow(gone, null);
    return gone;
  }
  const actual = versionFromDb(meta, pk, raw[meta.version!.name]);
  if (!checked) return unusableVersion(meta, pk, String(actual));
  const err = new RecordModifiedError({ ...details, actualVersion: actual });
  noteCurrentRow(err, meta.hydrate(raw));
  return err;
}
