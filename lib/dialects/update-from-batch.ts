import type { BatchTable, BatchUpdateDialect } from './batch-update-dialect';

/**
 * The batched compare-and-swap of PostgreSQL and SQLite (3.33+ for
 * `UPDATE ... FROM`, 3.35+ for `RETURNING`):
 *
 * `WITH kc_batch(k, h, n, c0...) AS (VALUES (<typing row>), (?, ?, ?, ...), ...)
 *  UPDATE t AS kc_row SET c = kc_batch.c0, ..., version = kc_batch.n FROM kc_batch
 *  WHERE kc_row.pk = kc_batch.k AND kc_row.version = kc_batch.h RETURNING kc_row.pk AS k`
 *
 * A VALUES list types its columns from its rows, and bare parameters would
 * make them text (then `integer = text` fails): the first row is a row of
 * NULLs read from the table's own columns (`(SELECT col FROM t WHERE false)`),
 * which gives every column the column's type, whatever it is, without a
 * catalog query; its NULL key matches nothing. (SQLite infers no types: there
 * the row is merely harmless.) SQLite's RETURNING may name only the table
 * being updated, hence the keys it wrote rather than the batch's own columns;
 * nor does it name a subquery's columns in `AS b(...)`, hence the CTE.
 */
export const updateFromBatch: BatchUpdateDialect = {
  kind: 'returning',
  updateSql(t: BatchTable, size: number): string {
    const typed = (column: string) => `(SELECT ${column} FROM ${t.table} WHERE false)`;
    const typing = [typed(t.pk), typed(t.version), typed(t.version), ...t.columns.map(typed)];
    const placeholders = new Array(t.columns.length + 3).fill('?').join(', ');
    const values = [`(${typing.join(', ')})`];
    for (let i = 0; i < size; i++) values.push(`(${placeholders})`);
    const names = ['k', 'h', 'n', ...t.columns.map((_, i) => `c${i}`)];
    const sets = t.columns.map((c, i) => `${c} = kc_batch.c${i}`);
    sets.push(`${t.version} = kc_batch.n`);
    return (
      `WITH kc_batch(${names.join(', ')}) AS (VALUES ${values.join(', ')}) ` +
      `UPDATE ${t.table} AS kc_row SET ${sets.join(', ')} FROM kc_batch ` +
      `WHERE kc_row.${t.pk} = kc_batch.k AND kc_row.${t.version} = kc_batch.h RETURNING ${t.pk} AS k`
    );
  },
};
