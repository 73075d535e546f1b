import type { BatchTable, BatchUpdateDialect } from '../batch-update-dialect';

/**
 * `UPDATE t AS kc_row SET c = kc_batch.c0, ..., version = kc_batch.n
 *  FROM (VALUES (<typing row>), (?, ?, ?, ..., 0), ...) AS kc_batch(k, h, n, c0..., i)
 *  WHERE kc_row.pk = kc_batch.k AND kc_row.version = kc_batch.h RETURNING kc_batch.i`
 *
 * A VALUES list types its columns from its rows, and bare parameters would
 * make them text (then `integer = text` fails): the first row is a row of
 * NULLs read from the table's own columns (`(SELECT col FROM t WHERE false)`),
 * which gives every column the column's type, whatever it is, without a
 * catalog query; its NULL key matches nothing.
 */
export const postgresBatchUpdate: BatchUpdateDialect = {
  kind: 'returning',
  updateSql(t: BatchTable, size: number): string {
    const typed = (column: string) => `(SELECT ${column} FROM ${t.table} WHERE false)`;
    const typing = [typed(t.pk), typed(t.version), typed(t.version), ...t.columns.map(typed), '-1'];
    const placeholders = new Array(t.columns.length + 3).fill('?').join(', ');
    const values = [`(${typing.join(', ')})`];
    for (let i = 0; i < size; i++) values.push(`(${placeholders}, ${i})`);
    const names = ['k', 'h', 'n', ...t.columns.map((_, i) => `c${i}`), 'i'];
    const sets = t.columns.map((c, i) => `${c} = kc_batch.c${i}`);
    sets.push(`${t.version} = kc_batch.n`);
    return (
      `UPDATE ${t.table} AS kc_row SET ${sets.join(', ')} ` +
      `FROM (VALUES ${values.join(', ')}) AS kc_batch(${names.join(', ')}) ` +
      `WHERE kc_row.${t.pk} = kc_batch.k AND kc_row.${t.version} = kc_batch.h RETURNING kc_batch.i`
    );
  },
};
