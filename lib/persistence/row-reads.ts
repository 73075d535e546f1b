import type { Database } from '../database';
import { execute } from '../executor';
import { integerFromDb } from '../fields/integer-field';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { cachedSql, quote, selectList } from './sql-text';

type Values = Record<string, unknown>;

/** Reads one row by primary key, or `undefined`. */
export async function selectByPk(db: Database, session: Session, meta: ModelMeta, pk: unknown): Promise<Values | undefined> {
  const sql = cachedSql(db, meta, 'select-pk', () => `SELECT ${selectList(db, meta)} FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?`);
  const { rows } = await execute(db, session, { sql, bindings: [meta.pk.field.toDb(pk as never)], method: 'select' });
  return rows[0] as Values | undefined;
}

/** The version the row holds now (latest committed or our own), `null` if the row is gone. */
export async function currentVersion(db: Database, session: Session, meta: ModelMeta, pk: unknown): Promise<number | null> {
  const version = meta.version;
  if (version === undefined) throw new TypeError(`${meta.modelName} has no version field`);
  // Outside a transaction every statement reads the latest committed row,
  // so the suffix (a locking read on MySQL) is only needed inside one; there
  // it would also wait for whichever writer holds the row.
  const suffix = session.frame === undefined ? '' : db.adapter.latestRowReadSuffix;
  const sql = cachedSql(db, meta, `current-version|${suffix}`, () => `SELECT ${quote(db, version.column)} FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?${suffix}`);
  const { rows } = await execute(db, session, { sql, bindings: [meta.pk.field.toDb(pk as never)], method: 'select' });
  if (rows.length === 0) return null;
  return integerFromDb(rows[0]![version.column]);
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
  return integerFromDb(rows[0]![version.column]);
}
