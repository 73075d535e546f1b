import type { Database } from '../database';
import { Operation, RecordDeletedError, RecordModifiedError } from '../errors';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { currentVersion } from './row-reads';

/** Builds the error for a write that matched no row: one extra read tells modified from deleted. */
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
  const actual = checked ? await currentVersion(db, session, meta, pk) : null;
  const details = { target, model: meta.modelName, pk, operation, expectedVersion };
  if (actual === null) return new RecordDeletedError(details);
  return new RecordModifiedError({ ...details, actualVersion: actual });
}
