import type { Knex } from 'knex';
import type { ModelMeta } from '../model-meta';
import { HIGHEST_RAISABLE_VERSION, unusableVersion } from './version-value';

/** Runs one read of a bulk write's (in its session and transaction). */
type RunRead = (query: Knex.QueryBuilder) => Promise<readonly Record<string, unknown>[]>;

/**
 * Guards a bulk `query().update()` that raises versions: no row may be moved
 * past 2^53 - 1, where a version can no longer be read back exactly.
 *
 * - Before anything is written, a read of the matching rows above
 *   `HIGHEST_RAISABLE_VERSION` (only other SQL puts them there) refuses the
 *   whole update with a `DatabaseValueError` naming the first such row:
 *   refusing one row and writing the others would be a partial bulk write.
 * - The UPDATE itself carries `AND version <= 2^53 - 2` (added to
 *   `update`), so even a row that other SQL moves to the limit between the
 *   read and the write is left as it is, never raised past it.
 *
 * `matching` is a fresh query over the model's table with the bulk write's
 * conditions (grouped, so an `orWhere` cannot escape the guard).
 */
export async function guardBulkVersion(meta: ModelMeta, matching: () => Knex.QueryBuilder, update: Knex.QueryBuilder, read: RunRead): Promise<void> {
  const version = meta.version!;
  const [beyond] = await read(matching().where(version.column, '>', HIGHEST_RAISABLE_VERSION).select(meta.pk.column, version.column).limit(1));
  if (beyond !== undefined) {
    const raw = beyond[version.column];
    throw unusableVersion(meta, meta.pk.field.fromDb(beyond[meta.pk.column]), raw === null || raw === undefined ? null : String(raw));
  }
  update.where(version.column, '<=', HIGHEST_RAISABLE_VERSION);
}
