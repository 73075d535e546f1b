import type { Database } from '../database';
import { DatabaseValueError, Operation, RecordDeletedError, RecordModifiedError, RetryableError } from '../errors';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { noteCurrentRow } from '../report-conflict';
import { currentRow } from './row-reads';
import { unusableVersion, versionFromDb } from './version-value';

/** What a conflict error says of the write it refused. */
type ErrorDetails = ConstructorParameters<typeof RecordDeletedError>[0];

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
  if (raw === null) return rowConflict(meta, details, null, null);
  const actual = versionFromDb(meta, pk, raw[meta.version!.name]);
  if (!checked) return unusableVersion(meta, pk, String(actual));
  return rowConflict(meta, details, raw, actual);
}

/**
 * The error for a row read after a write it refused: `RecordDeletedError`
 * when the row is gone, else `RecordModifiedError` at `actual`; either
 * carries the row as it is now for the conflict report.
 */
function rowConflict(meta: ModelMeta, details: ErrorDetails, raw: Record<string, unknown> | null, actual: number | null): RecordModifiedError {
  if (raw === null) {
    const gone = new RecordDeletedError(details);
    noteCurrentRow(gone, null);
    return gone;
  }
  const changed = new RecordModifiedError({ ...details, actualVersion: actual });
  noteCurrentRow(changed, meta.hydrate(raw));
  return changed;
}

/**
 * A compare-and-swap outside any transaction of the caller that the
 * database aborted, where another would have matched no row: a Galera node
 * refuses it (1213) when another node's write to the row was certified first
 * (with `wsrep_retry_autocommit=0`, or when its one retry loses too), and a
 * session at SERIALIZABLE or REPEATABLE READ answers 40001. It is the same
 * conflict, and is reported the same way when the row shows it: one read,
 * as for a write that matched nothing, and a row now at another version (or
 * gone) is a `RecordModifiedError` (`RecordDeletedError`) with the driver's
 * error as its cause. A row still at the version held (a node that has not
 * applied the winning write yet) leaves the `RetryableError`, which
 * `retryOnConflict()` retries all the same.
 */
export async function abortedWrite(
  db: Database,
  session: Session,
  meta: ModelMeta,
  target: object,
  pk: unknown,
  operation: Operation,
  held: number | undefined,
  err: RetryableError,
): Promise<Error> {
  if (session.frame !== undefined || held === undefined || meta.version === undefined) return err;
  if (err.reason !== 'deadlock' && err.reason !== 'serialization') return err;
  let raw: Record<string, unknown> | null;
  try {
    raw = await currentRow(db, session, meta, pk);
  } catch {
    return err;
  }
  const details = { target, model: meta.modelName, pk, operation, expectedVersion: held, cause: err.cause };
  if (raw === null) return rowConflict(meta, details, null, null);
  const actual = versionFromDb(meta, pk, raw[meta.version.name]);
  if (actual === held) return err;
  return rowConflict(meta, details, raw, actual);
}
