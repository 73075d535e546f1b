import type { Database } from '../database';
import type { FieldBinding, ModelMeta } from '../model-meta';
import { cachedSql, compiled, positions, quote } from './sql-text';
import { HIGHEST_RAISABLE_VERSION } from './version-value';

/** The shape of one compare-and-swap UPDATE, which alone decides its text. */
export interface UpdateShape {
  readonly changed: readonly FieldBinding[];
  /** Right-hand side of `version = ...`, or `undefined` to leave the column alone. */
  readonly versionSet: string | undefined;
  /** `AND version = ?` in the WHERE clause. */
  readonly checked: boolean;
  /** A RETURNING list, or `undefined`. */
  readonly returning: string | undefined;
  /**
   * `AND version <= 2^53 - 2` in the WHERE clause: a write that raises a
   * version it does not check (`disableConcurrency`) must not move one that
   * other SQL left at the limit past it, and then fail to read it back after
   * the write has landed.
   */
  readonly belowLimit?: boolean;
}

/**
 * `UPDATE t SET <changed>[, version = <set>] WHERE pk = ?[ AND version = ?][ RETURNING ...]`,
 * the one builder of every kind's UPDATE. Its text depends only on the
 * shape, so it is built once per model and shape and kept; the bindings go
 * in the same order: changed values, the version's, the key, the held
 * version, the RETURNING list's.
 */
export function updateSql(db: Database, meta: ModelMeta, shape: UpdateShape): string {
  // A loop of saves writes the same shape every time: compared field by
  // field, it is found without building its key (a string per save).
  const kept = compiled(db, meta);
  const last = kept.last;
  if (last !== undefined && sameShape(last.shape as UpdateShape, shape)) return last.sql;
  const sql = keyedUpdateSql(db, meta, shape);
  kept.last = { shape: { ...shape, changed: [...shape.changed] }, sql };
  return sql;
}

function sameShape(a: UpdateShape, b: UpdateShape): boolean {
  if (a.checked !== b.checked || (a.belowLimit === true) !== (b.belowLimit === true) || a.versionSet !== b.versionSet || a.returning !== b.returning) return false;
  const x = a.changed;
  const y = b.changed;
  if (x.length !== y.length) return false;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return false;
  return true;
}

function keyedUpdateSql(db: Database, meta: ModelMeta, shape: UpdateShape): string {
  const key = `update|${shape.checked}|${shape.belowLimit === true}|${positions(meta, shape.changed)}|${shape.versionSet ?? ''}|${shape.returning ?? ''}`;
  return cachedSql(db, meta, key, () => {
    const sets = shape.changed.map((f) => `${quote(db, f.column)} = ?`);
    if (shape.versionSet !== undefined) sets.push(`${quote(db, meta.version!.column)} = ${shape.versionSet}`);
    let where = `${quote(db, meta.pk.column)} = ?`;
    if (shape.checked) where += ` AND ${quote(db, meta.version!.column)} = ?`;
    if (shape.belowLimit === true) where += ` AND ${quote(db, meta.version!.column)} <= ${HIGHEST_RAISABLE_VERSION}`;
    const text = `UPDATE ${quote(db, meta.table)} SET ${sets.join(', ')} WHERE ${where}`;
    return shape.returning === undefined ? text : `${text} RETURNING ${shape.returning}`;
  });
}

/** The quoted version column, kept. */
export function versionColumn(db: Database, meta: ModelMeta): string {
  return cachedSql(db, meta, 'version-column', () => quote(db, meta.version!.column));
}
