import type { BatchTable, BatchUpdateDialect } from '../batch-update-dialect';

/**
 * `UPDATE t AS kc_row JOIN (SELECT ? AS k, ? AS h, ? AS n, ? AS c0 UNION ALL
 * SELECT ?, ?, ?, ? ...) AS kc_batch ON kc_row.pk = kc_batch.k AND
 * kc_row.version = kc_batch.h SET kc_row.c = kc_batch.c0, ..., kc_row.version = kc_batch.n`
 *
 * MySQL and MariaDB have no UPDATE ... RETURNING, so the rows are locked and
 * their versions read first (`'locked'`); the matched count, which mysql2
 * reports with its FOUND_ROWS flag, must then be every row written. (A
 * derived table of SELECTs works on both: MySQL's `VALUES ROW(...)` and
 * MariaDB's `VALUES (...)` differ.) Writing row by row would pay a round
 * trip per row, and pipelining those statements is unsafe: after a deadlock
 * the server has already rolled the transaction back, and the statements
 * queued behind it would run in autocommit.
 */
export const mysqlBatchUpdate: BatchUpdateDialect = {
  kind: 'locked',
  updateSql(t: BatchTable, size: number): string {
    const first = ['? AS k', '? AS h', '? AS n', ...t.columns.map((_, i) => `? AS c${i}`)].join(', ');
    const next = new Array(t.columns.length + 3).fill('?').join(', ');
    const selects = [`SELECT ${first}`];
    for (let i = 1; i < size; i++) selects.push(`SELECT ${next}`);
    const sets = t.columns.map((c, i) => `kc_row.${c} = kc_batch.c${i}`);
    sets.push(`kc_row.${t.version} = kc_batch.n`);
    return (
      `UPDATE ${t.table} AS kc_row JOIN (${selects.join(' UNION ALL ')}) AS kc_batch ` +
      `ON kc_row.${t.pk} = kc_batch.k AND kc_row.${t.version} = kc_batch.h SET ${sets.join(', ')}`
    );
  },
};
