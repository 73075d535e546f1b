import { DatabaseValueError, ValidationError } from '../errors';
import type { ModelMeta } from '../model-meta';

/**
 * The largest version a write may start from when it raises the version:
 * one more would be beyond `Number.MAX_SAFE_INTEGER`, where a version read
 * back could no longer be told from its neighbours.
 */
export const HIGHEST_RAISABLE_VERSION = Number.MAX_SAFE_INTEGER - 1;

/**
 * A version column value read from the row with key `pk` -> a safe integer.
 * NULL and values beyond 2^53 - 1 (only other SQL writes them) are a
 * `DatabaseValueError` that says how to repair the row.
 */
export function versionFromDb(meta: ModelMeta, pk: unknown, raw: unknown): number {
  const n = raw === null || raw === undefined ? undefined : typeof raw === 'number' ? raw : Number(raw);
  if (n !== undefined && Number.isSafeInteger(n)) return n;
  throw unusableVersion(meta, pk, raw === null || raw === undefined ? null : String(raw));
}

/** What is wrong with a version the database holds as `value` (NULL, or too large), and how to repair the row. */
function problem(meta: ModelMeta, pk: unknown, value: string | null): string {
  const version = meta.version!;
  const where = `${meta.table}.${version.column}`;
  const repair = `UPDATE ${meta.table} SET ${version.column} = <a version below 2^53> WHERE <its key> = ${String(pk)}`;
  const what =
    value === null
      ? `its version column ${where} is NULL (a row inserted by other SQL, or a column added without a default), so it cannot be compared`
      : `its version column ${where} holds ${value}, which is at or beyond ${HIGHEST_RAISABLE_VERSION + 1} (2^53 - 1, the largest safe JavaScript integer), so it cannot be compared and raised exactly`;
  return (
    `${meta.modelName} ${String(pk)}: ${what}. Nothing was written. Repair the row with SQL (${repair}${value === null ? `, and make the column NOT NULL: addVersionColumn() does` : ''}), ` +
    `then refresh() and retry.`
  );
}

/** The error for a row whose version the database holds as NULL or too large, found by a read. */
export function unusableVersion(meta: ModelMeta, pk: unknown, value: string | null): DatabaseValueError {
  return new DatabaseValueError({ model: meta.modelName, pk, column: meta.version!.column, value, message: problem(meta, pk, value) });
}

/**
 * The same, found before any SQL in the version an instance holds (it loaded
 * the NULL, or the version at the limit): a `ValidationError` of the version field.
 */
export function unusableHeldVersion(meta: ModelMeta, pk: unknown, held: number | null): ValidationError {
  return new ValidationError(meta.modelName, meta.version!.name, problem(meta, pk, held === null ? null : String(held)), held);
}
