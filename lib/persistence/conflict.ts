import type { Database } from '../database';
import { DatabaseValueError, Operation, RecordDeletedError, RecordModifiedError } from '../errors';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { currentVersion } from './row-reads';
import { unusableVersion } from './version-value';

/**
 * Builds the error for a write that matched no row: one extra read tells
 * modified from deleted. A row whose version is NULL or beyond 2^53 is
 * neither: the read throws `DatabaseValueError`, which says how to repair it.
 * `belowLimit`: the write had no check but refused a version at the limit,
 * so a row that is there was refused for that.
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
  const actual = checked || belowLimit ? await currentVersion(db, session, meta, pk) : null;
  const details = { target, model: meta.modelName, pk, operation, expectedVersion };
  if (actual === null) return new RecordDeletedError(details);
  if (!checked) return unusableVersion(meta, pk, String(actual));
  return new RecordModifiedError({ ...details, actualVersion: actual });
}
