import type { Database } from '../database';
import { execute } from '../executor';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { cachedSql, positions, quote } from './sql-text';

type Values = Record<string, unknown>;

/**
 * Inserts a new row from `values` (keyed by property name; `undefined`
 * means "not set": the database generates it). Returns the primary key.
 */
export async function insertRow(db: Database, session: Session, meta: ModelMeta, values: Values): Promise<unknown> {
  const present = meta.fields.filter((f) => values[f.name] !== undefined);
  const pkGenerated = values[meta.pk.name] === undefined;
  const returning = pkGenerated && db.adapter.supportsReturning;
  const key = `insert|${returning}|${positions(meta, present)}`;
  const sql = cachedSql(db, meta, key, () => {
    const table = quote(db, meta.table);
    const cols = present.map((f) => quote(db, f.column)).join(', ');
    const head = present.length === 0 ? db.adapter.insertDefaults(table) : `INSERT INTO ${table} (${cols}) VALUES (${present.map(() => '?').join(', ')})`;
    return returning ? `${head} RETURNING ${quote(db, meta.pk.column)}` : head;
  });
  const bindings = present.map((f) => f.field.toDb(values[f.name] as never));
  const result = await execute(db, session, { sql, bindings, method: 'insert', returning });
  if (!pkGenerated) return values[meta.pk.name];
  const raw = returning ? result.rows[0]?.[meta.pk.column] : result.insertId;
  return meta.pk.field.fromDb(raw);
}
