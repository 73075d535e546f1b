import type { Database } from '../database';
import { execute } from '../executor';
import type { FieldBinding, ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { cachedSql, positions, quote } from './sql-text';
import type { ValuesRow } from './values-update';
import { versionFromDb } from './version-value';

// Rows per statement, a power of two (a handful of texts per shape, each kept
// prepared), with far fewer placeholders than the 65,535 a statement takes.
const MAX_ROWS = 512;
const MAX_BINDINGS = 30_000;

/**
 * Many compare-and-swap updates of one shape where UPDATE has no RETURNING
 * (MySQL, MariaDB), two statements per chunk inside the batch's transaction:
 *
 * 1. `SELECT pk, version FROM t WHERE pk IN (...) FOR UPDATE` locks every
 *    row of the chunk and tells which still hold their version: from here to
 *    COMMIT no other writer can change them;
 * 2. `UPDATE t JOIN (SELECT ? AS k, ? AS h, ? AS n, ? AS c0 UNION ALL ...) AS
 *    kc_batch ON t.pk = kc_batch.k AND t.version = kc_batch.h SET ...` writes
 *    those rows, still checked against their versions, and its matched-row
 *    count (the FOUND_ROWS flag) must be all of them.
 *
 * The row-by-row alternative pays a round trip per row, and pipelining the
 * statements is unsafe on MySQL: after a deadlock the server has already
 * rolled the transaction back, and the statements still queued behind it
 * would run in autocommit. Returns whether each row matched.
 */
export async function joinUpdate(db: Database, session: Session, meta: ModelMeta, changed: readonly FieldBinding[], rows: readonly ValuesRow[]): Promise<boolean[]> {
  const perRow = changed.length + 3;
  let chunk = MAX_ROWS;
  while (chunk > 1 && chunk * perRow > MAX_BINDINGS) chunk /= 2;
  const matched: boolean[] = new Array(rows.length).fill(false);
  const pkOf = (r: ValuesRow) => meta.pk.field.toDb(r.pk as never);
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    const size = powerOfTwo(part.length);
    const lockSql = cachedSql(db, meta, `lock-versions|${size}`, () => lockStatement(db, meta, size));
    const keys: unknown[] = part.map(pkOf);
    while (keys.length < size) keys.push(null);
    const { rows: locked } = await execute(db, session, { sql: lockSql, bindings: keys, method: 'select' });
    const held = new Map<string, number>();
    for (const r of locked) held.set(String(r.k), versionFromDb(meta, r.k, r.v));
    const writes: number[] = [];
    // A second copy of one row in the batch is written by neither: the first one's write moves the version it holds.
    const seen = new Set<string>();
    part.forEach((r, i) => {
      const key = String(pkOf(r));
      if (held.get(key) === r.held && !seen.has(key)) writes.push(i);
      seen.add(key);
    });
    if (writes.length === 0) continue;
    const writeSize = powerOfTwo(writes.length);
    const sql = cachedSql(db, meta, `join-update|${positions(db, meta, changed)}|${writeSize}`, () => updateStatement(db, meta, changed, writeSize));
    const bindings: unknown[] = [];
    for (const i of writes) bindings.push(pkOf(part[i]!), part[i]!.held, part[i]!.next, ...part[i]!.values);
    for (let pad = writes.length; pad < writeSize; pad++) for (let c = 0; c < perRow; c++) bindings.push(null);
    const result = await execute(db, session, { sql, bindings, method: 'update' });
    // The rows are locked: anything else means the lock did not hold, and the batch must not commit.
    if (result.rowCount !== writes.length) throw new Error(`${meta.modelName}.saveAll(): ${result.rowCount} of ${writes.length} locked rows matched their version; nothing is committed`);
    for (const i of writes) matched[start + i] = true;
  }
  return matched;
}

function powerOfTwo(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}

function lockStatement(db: Database, meta: ModelMeta, size: number): string {
  const pk = quote(db, meta.pk.column);
  return (
    `SELECT ${pk} AS k, ${quote(db, meta.version!.column)} AS v FROM ${quote(db, meta.table)} ` +
    `WHERE ${pk} IN (${new Array(size).fill('?').join(', ')})${db.adapter.lockRowSuffix}`
  );
}

function updateStatement(db: Database, meta: ModelMeta, changed: readonly FieldBinding[], size: number): string {
  const table = quote(db, meta.table);
  const version = quote(db, meta.version!.column);
  const first = ['? AS k', '? AS h', '? AS n', ...changed.map((_, i) => `? AS c${i}`)].join(', ');
  const next = new Array(changed.length + 3).fill('?').join(', ');
  const selects = [`SELECT ${first}`];
  for (let i = 1; i < size; i++) selects.push(`SELECT ${next}`);
  const sets = changed.map((f, i) => `kc_row.${quote(db, f.column)} = kc_batch.c${i}`);
  sets.push(`kc_row.${version} = kc_batch.n`);
  return (
    `UPDATE ${table} AS kc_row JOIN (${selects.join(' UNION ALL ')}) AS kc_batch ` +
    `ON kc_row.${quote(db, meta.pk.column)} = kc_batch.k AND kc_row.${version} = kc_batch.h SET ${sets.join(', ')}`
  );
}
