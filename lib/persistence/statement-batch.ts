import type { Database } from '../database';
import type { BatchUpdateDialect } from '../dialects/batch-update-dialect';
import { execute } from '../executor';
import type { FieldBinding, ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { cachedSql, positions, quote } from './sql-text';
import { versionFromDb } from './version-value';

/** One row of a statement batch: its key, the version it holds and the one it will hold, its changed values. */
export interface BatchedRow {
  readonly pk: unknown;
  readonly held: number;
  readonly next: number;
  readonly values: readonly unknown[];
}

// Rows per statement: a power of two, so that a shape has a handful of texts
// (each kept prepared on the server), with far fewer bindings than the
// 65,535 PostgreSQL and MySQL take.
const MAX_ROWS = 512;
const MAX_BINDINGS = 30_000;

/**
 * Many compare-and-swap updates of one shape (the same changed fields), in
 * one statement per chunk of rows, each row checked against its own version
 * (see `BatchUpdateDialect`). Returns whether each row matched; a row that
 * did not was changed or deleted by someone else. Runs inside the batch's
 * transaction.
 */
export async function statementBatch(
  db: Database,
  session: Session,
  meta: ModelMeta,
  dialect: BatchUpdateDialect,
  changed: readonly FieldBinding[],
  rows: readonly BatchedRow[],
): Promise<boolean[]> {
  const perRow = changed.length + 3;
  let chunk = MAX_ROWS;
  while (chunk > 1 && chunk * perRow > MAX_BINDINGS) chunk /= 2;
  const matched: boolean[] = new Array(rows.length).fill(false);
  for (let start = 0; start < rows.length; start += chunk) {
    const part = rows.slice(start, start + chunk);
    const hits = dialect.kind === 'returning' ? await returning(db, session, meta, dialect, changed, part) : await locked(db, session, meta, dialect, changed, part);
    hits.forEach((hit, i) => (matched[start + i] = hit));
  }
  return matched;
}

/** One statement that returns the keys of the rows it matched. */
async function returning(db: Database, session: Session, meta: ModelMeta, dialect: BatchUpdateDialect, changed: readonly FieldBinding[], part: readonly BatchedRow[]): Promise<boolean[]> {
  const writes = firstCopies(meta, part);
  const size = powerOfTwo(writes.length);
  const { rows } = await execute(db, session, { sql: updateText(db, meta, dialect, changed, size), bindings: bindingsOf(meta, changed, writes, size), method: 'update', returning: true });
  const written = new Set(rows.map((r) => String(r.k)));
  return part.map((r) => writes.includes(r) && written.has(keyOf(meta, r)));
}

/** The rows of `part` whose key no earlier row has: a second copy of one row is written by neither statement, since the first one's write moves the version it holds. */
function firstCopies(meta: ModelMeta, part: readonly BatchedRow[]): BatchedRow[] {
  const seen = new Set<string>();
  return part.filter((r) => {
    const key = keyOf(meta, r);
    const first = !seen.has(key);
    seen.add(key);
    return first;
  });
}

function keyOf(meta: ModelMeta, r: BatchedRow): string {
  return String(meta.pk.field.toDb(r.pk as never));
}

/** A locking read of the rows' versions, then one statement writing those that hold theirs. */
async function locked(db: Database, session: Session, meta: ModelMeta, dialect: BatchUpdateDialect, changed: readonly FieldBinding[], part: readonly BatchedRow[]): Promise<boolean[]> {
  const size = powerOfTwo(part.length);
  const pkOf = (r: BatchedRow) => meta.pk.field.toDb(r.pk as never);
  const keys: unknown[] = part.map(pkOf);
  while (keys.length < size) keys.push(null);
  const lockSql = cachedSql(db, meta, `batch-lock|${size}`, () => {
    const pk = quote(db, meta.pk.column);
    return `SELECT ${pk} AS k, ${quote(db, meta.version!.column)} AS v FROM ${quote(db, meta.table)} WHERE ${pk} IN (${new Array(size).fill('?').join(', ')})${db.adapter.lockRowSuffix}`;
  });
  const { rows: current } = await execute(db, session, { sql: lockSql, bindings: keys, method: 'select' });
  const versions = new Map<string, number>();
  for (const r of current) versions.set(String(r.k), versionFromDb(meta, r.k, r.v));
  const writes = firstCopies(meta, part).filter((r) => versions.get(keyOf(meta, r)) === r.held);
  const hits = part.map((r) => writes.includes(r));
  if (writes.length === 0) return hits;
  const writeSize = powerOfTwo(writes.length);
  const result = await execute(db, session, { sql: updateText(db, meta, dialect, changed, writeSize), bindings: bindingsOf(meta, changed, writes, writeSize), method: 'update' });
  // The rows are locked: anything else means the lock did not hold, and the batch must not commit.
  if (result.rowCount !== writes.length) throw new Error(`${meta.modelName}.saveAll(): ${result.rowCount} of ${writes.length} locked rows matched their version; nothing was committed`);
  return hits;
}

function updateText(db: Database, meta: ModelMeta, dialect: BatchUpdateDialect, changed: readonly FieldBinding[], size: number): string {
  return cachedSql(db, meta, `batch-update|${positions(meta, changed)}|${size}`, () =>
    dialect.updateSql({ table: quote(db, meta.table), pk: quote(db, meta.pk.column), version: quote(db, meta.version!.column), columns: changed.map((f) => quote(db, f.column)) }, size),
  );
}

function bindingsOf(meta: ModelMeta, changed: readonly FieldBinding[], rows: readonly BatchedRow[], size: number): unknown[] {
  const bindings: unknown[] = [];
  for (const r of rows) bindings.push(meta.pk.field.toDb(r.pk as never), r.held, r.next, ...r.values);
  for (let pad = rows.length; pad < size; pad++) for (let c = 0; c < changed.length + 3; c++) bindings.push(null);
  return bindings;
}

function powerOfTwo(n: number): number {
  let size = 1;
  while (size < n) size *= 2;
  return size;
}
