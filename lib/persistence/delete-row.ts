import type { Database } from '../database';
import { execute } from '../executor';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { RetryableError } from '../errors';
import { abortedWrite, conflict } from './conflict';
import { cachedSql, quote } from './sql-text';
import type { VersionPolicy } from './version-policy';

/**
 * The compare-and-swap delete: `DELETE FROM t WHERE pk = ? AND version = ?`;
 * a conflict is `RecordModifiedError`, whether the delete matched no row or
 * the database aborted it outside a transaction (see `abortedWrite`).
 */
export async function deleteRow(db: Database, session: Session, meta: ModelMeta, target: object, pk: unknown, policy: VersionPolicy): Promise<void> {
  const held = policy.held;
  const checked = meta.version !== undefined && policy.check && held !== undefined;
  const sql = cachedSql(db, meta, `delete|${checked}`, () => {
    let s = `DELETE FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?`;
    if (checked) s += ` AND ${quote(db, meta.version!.column)} = ?`;
    return s;
  });
  const bindings = checked ? [meta.pk.field.toDb(pk as never), held] : [meta.pk.field.toDb(pk as never)];
  let rowCount: number;
  try {
    ({ rowCount } = await execute(db, session, { sql, bindings, method: 'del' }));
  } catch (err) {
    if (!(err instanceof RetryableError) || !checked) throw err;
    throw await abortedWrite(db, session, meta, target, pk, 'delete', held, err);
  }
  if (rowCount === 0) throw await conflict(db, session, meta, target, pk, 'delete', held, checked);
}
