import type { Database } from '../database';
import { execute } from '../executor';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { cachedSql, quote, selectList } from './sql-text';
import { versionFromDb } from './version-value';

type Values = Record<string, unknown>;

/**
 * Reads one row by primary key, or `undefined`; `synced`: as of every
 * commit of the cluster before it (`refresh()`), see `syncedReadPrefix`.
 */
export async function selectByPk(db: Database, session: Session, meta: ModelMeta, pk: unknown, synced = false): Promise<Values | undefined> {
  const prefix = synced ? db.adapter.syncedReadPrefix : '';
  const sql = cachedSql(db, meta, `select-pk|${prefix}`, () => `${prefix}SELECT ${selectList(db, meta)} FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?`);
  const { rows } = await execute(db, session, { sql, bindings: [meta.pk.field.toDb(pk as never)], method: 'select' });
  return rows[0] as Values | undefined;
}

/**
 * The version the row holds now (latest committed or our own), `null` if the
 * row is gone. A NULL or too large version is a `DatabaseValueError`: it must
 * not pass for a deleted row, nor for a number it is not. `synced`: as of
 * every commit of the cluster before it (`isChanged()`), not only this
 * server's; a read of our own write needs no wait.
 */
export async function currentVersion(db: Database, session: Session, meta: ModelMeta, pk: unknown, synced = false): Promise<number | null> {
  const version = meta.version;
  if (version === undefined) throw new TypeError(`${meta.modelName} has no version field`);
  // Outside a transaction every statement reads the latest committed row,
  // so the suffix (a locking read on MySQL) is only needed inside one; there
  // it would also wait for whichever writer holds the row.
  const suffix = session.frame === undefined ? '' : db.adapter.latestRowReadSuffix;
  const prefix = synced ? db.adapter.syncedReadPrefix : '';
  const sql = cachedSql(db, meta, `current-version|${prefix}|${suffix}`, () => `${prefix}SELECT ${quote(db, version.column)} FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?${suffix}`);
  const { rows } = await execute(db, session, { sql, bindings: [meta.pk.field.toDb(pk as never)], method: 'select' });
  if (rows.length === 0) return null;
  return versionFromDb(meta, pk, rows[0]![version.column]);
}

/**
 * The whole row now (latest committed or our own), as read (hydrate it), or `null` if it
 * is gone: what a conflict reads to tell modified from deleted, and to report
 * what the row holds, in the same one statement. On a cluster, as of every
 * commit before it (`syncedReadPrefix`): the winner may have committed on
 * another node.
 */
export async function currentRow(db: Database, session: Session, meta: ModelMeta, pk: unknown): Promise<Values | null> {
  // As in currentVersion: the suffix only inside a transaction.
  const suffix = session.frame === undefined ? '' : db.adapter.latestRowReadSuffix;
  const prefix = db.adapter.syncedReadPrefix;
  const sql = cachedSql(db, meta, `current-row|${suffix}`, () => `${prefix}SELECT ${selectList(db, meta)} FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?${suffix}`);
  const { rows } = await execute(db, session, { sql, bindings: [meta.pk.field.toDb(pk as never)], method: 'select' });
  return (rows[0] as Values | undefined) ?? null;
}

/**
 * The row's version, read inside a transaction so that no other writer can
 * change the row before commit (`FOR UPDATE`); `null` if the row is gone.
 */
export async function lockedVersion(db: Database, session: Session, meta: ModelMeta, pk: unknown): Promise<number | null> {
  const version = meta.version!;
  const sql = cachedSql(db, meta, 'locked-version', () => `SELECT ${quote(db, version.column)} FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?${db.adapter.lockRowSuffix}`);
  const { rows } = await execute(db, session, { sql, bindings: [meta.pk.field.toDb(pk as never)], method: 'select' });
  if (rows.length === 0) return null;
  return versionFromDb(meta, pk, rows[0]![version.column]);
}
