import type { Database } from '../database';
import type { FieldBinding, ModelMeta } from '../model-meta';
import { cachedSql, positions, quote } from './sql-text';

/** The shape of one compare-and-swap UPDATE, which alone decides its text. */
export interface UpdateShape {
  readonly changed: readonly FieldBinding[];
  /** Right-hand side of `version = ...`, or `undefined` to leave the column alone. */
  readonly versionSet: string | undefined;
  /** `AND version = ?` in the WHERE clause. */
  readonly checked: boolean;
  /** A RETURNING list, or `undefined`. */
  readonly returning: string | undefined;
}

/**
 * `UPDATE t SET <changed>[, version = <set>] WHERE pk = ?[ AND version = ?][ RETURNING ...]`,
 * the one builder of every kind's UPDATE. Its text depends only on the
 * shape, so it is built once per model and shape and kept; the bindings go
 * in the same order: changed values, the version's, the key, the held
 * version, the RETURNING list's.
 */
export function updateSql(db: Database, meta: ModelMeta, shape: UpdateShape): string {
  const key = `update|${shape.checked}|${positions(db, meta, shape.changed)}|${shape.versionSet ?? ''}|${shape.returning ?? ''}`;
  return cachedSql(db, meta, key, () => {
    const sets = shape.changed.map((f) => `${quote(db, f.column)} = ?`);
    if (shape.versionSet !== undefined) sets.push(`${quote(db, meta.version!.column)} = ${shape.versionSet}`);
    let where = `${quote(db, meta.pk.column)} = ?`;
    if (shape.checked) where += ` AND ${quote(db, meta.version!.column)} = ?`;
    const text = `UPDATE ${quote(db, meta.table)} SET ${sets.join(', ')} WHERE ${where}`;
    return shape.returning === undefined ? text : `${text} RETURNING ${shape.returning}`;
  });
}

/** The quoted version column, kept. */
export function versionColumn(db: Database, meta: ModelMeta): string {
  return cachedSql(db, meta, 'version-column', () => quote(db, meta.version!.column));
}
