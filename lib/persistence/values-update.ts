import type { Database } from '../database';
import { execute } from '../executor';
import type { FieldBinding, ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { cachedSql, positions, quote } from './sql-text';

/** One row of a `valuesUpdate`: its key, the version it holds and the one it will hold, its changed values. */
export interface ValuesRow {
  readonly pk: unknown;
  readonly held: number;
  readonly next: number;
  readonly values: readonly unknown[];
}

// Rows per statement: a power of two, so that a shape has a handful of texts
// (the server keeps each prepared), and few enough bindings (PostgreSQL takes
// at most 65,535 per statement).
const MAX_ROWS = 512;
const MAX_BINDINGS = 30_000;

/**
 * Many compare-and-swap updates of one shape (the same changed fields) in
 * one statement per chunk, each row checked against its own version:
 *
 * ```sql
 * UPDATE t AS kc_row SET c = kc_batch.c, ..., version = kc_batch.n
 * FROM (VALUES (<typing row>), (?, ?, ?, ..., 0), (?, ?, ?, ..., 1), ...) AS kc_batch(k, h, n, c..., i)
 * WHERE kc_row.pk = kc_batch.k AND kc_row.version = kc_batch.h
 * RETURNING kc_batch.i
 * ```
 *
 * A VALUES list types its columns from its rows, and bare parameters would
 * make them text (then `integer = text` fails): the first row is a row of
 * NULLs read from the table's own columns (`(SELECT col FROM t WHERE false)`),
 * which gives every column the column's type, whatever it is, without a
 * catalog query; its NULL key matches nothing. A chunk is padded with NULL
 * rows to a power of two. The row numbers RETURNING lists are the rows that
 * matched: a row missing there was changed or deleted by someone else.
 */
export async function valuesUpdate(db: Database, session: Session, meta: ModelMeta, changed: readonly FieldBinding[], rows: readonly ValuesRow[]): Promise<boolean[]> {
  const perRow = changed.length + 3;
  let chunk = MAX_ROWS;
  while (chunk > 1 && chunk * perRow > MAX_BINDINGS) chunk /= 2;
  const matched: boolean[] = new Array(rows.length).fill(false);
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    let size = 1;
    while (size < part.length) size *= 2;
    const sql = cachedSql(db, meta, `values-update|${positions(db, meta, changed)}|${size}`, () => statement(db, meta, changed, size));
    const bindings: unknown[] = [];
    for (const r of part) bindings.push(meta.pk.field.toDb(r.pk as never), r.held, r.next, ...r.values);
    for (let pad = part.length; pad < size; pad++) for (let c = 0; c < perRow; c++) bindings.push(null);
    const result = await execute(db, session, { sql, bindings, method: 'update', returning: true });
    for (const row of result.rows) {
      const i = Number(row.i);
      if (i >= 0 && i < part.length) matched[start + i] = true;
    }
  }
  return matched;
}

function statement(db: Database, meta: ModelMeta, changed: readonly FieldBinding[], size: number): string {
  const table = quote(db, meta.table);
  const pk = quote(db, meta.pk.column);
  const version = quote(db, meta.version!.column);
  const typed = (column: string) => `(SELECT ${column} FROM ${table} WHERE false)`;
  const typing = [typed(pk), typed(version), typed(version), ...changed.map((f) => typed(quote(db, f.column))), '-1'];
  const placeholders = new Array(changed.length + 3).fill('?').join(', ');
  const values = [`(${typing.join(', ')})`];
  for (let i = 0; i < size; i++) values.push(`(${placeholders}, ${i})`);
  const names = ['k', 'h', 'n', ...changed.map((_, i) => `c${i}`), 'i'];
  const sets = changed.map((f, i) => `${quote(db, f.column)} = kc_batch.c${i}`);
  sets.push(`${version} = kc_batch.n`);
  return (
    `UPDATE ${table} AS kc_row SET ${sets.join(', ')} ` +
    `FROM (VALUES ${values.join(', ')}) AS kc_batch(${names.join(', ')}) ` +
    `WHERE kc_row.${pk} = kc_batch.k AND kc_row.${version} = kc_batch.h RETURNING kc_batch.i`
  );
}
