import type { Database } from '../database';
import { RecordModifiedError } from '../errors';
import { execute } from '../executor';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { conflict } from './conflict';
import { inTransaction } from './in-transaction';
import { positions } from './sql-text';
import { updateSql } from './update-statement';
import type { RowWrite } from './version-strategy';
import { versionStrategyFor } from './version-strategy-for';
import { statementBatch } from './statement-batch';

/** One row of a batch: what `save()` would write for one instance, taken when the batch started. */
export type BatchRow = RowWrite;

/** What became of each row of a batch, in the order given. */
export interface BatchOutcome {
  /** The version each written row holds now; `undefined` for a refused row (or a model without one). */
  readonly versions: readonly (number | undefined)[];
  /** Whether each row was written. */
  readonly written: readonly boolean[];
  /** The refused rows' errors, in row order. */
  readonly conflicts: readonly RecordModifiedError[];
}

/** A row written with the version it will hold known in advance: `version = ?` in one shape per changed-field set. */
interface KnownRow {
  readonly index: number;
  readonly row: BatchRow;
  readonly next: number;
}

// Thrown inside the batch's transaction to roll it back when `atomic` and a row was refused.
class Refused {
  constructor(readonly outcome: BatchOutcome) {}
}

/**
 * Writes every row of `rows`, each a compare-and-swap against its own held
 * version, inside one transaction: a new one, or, inside the caller's, a
 * savepoint when `atomic` (else the caller's transaction itself). Rows whose
 * next version is known before the write (a counter or a clock) go in as
 * few statements as the database allows (`DialectAdapter.batchUpdate`: one
 * UPDATE per shape and chunk, after a locking read where there is no
 * RETURNING), else one prepared statement per row on the transaction's
 * connection. Other rows (a trigger's version, an unchecked write) go
 * through the kind's own `update()`.
 *
 * Every refused row is classified (changed or deleted) by a read in the same
 * transaction. With `atomic`, one refused row rolls the whole batch back and
 * nothing is written (`written` all false); either way the caller decides
 * what to tell the instances, after the transaction has ended.
 */
export async function batchUpdate(db: Database, session: Session, meta: ModelMeta, rows: readonly BatchRow[], atomic: boolean): Promise<BatchOutcome> {
  const strategy = versionStrategyFor(meta);
  const known: KnownRow[] = [];
  const other: number[] = [];
  rows.forEach((row, index) => {
    const { held, check, increment } = row.policy;
    const next = check && held !== undefined ? strategy.batchNext(held, increment) : undefined;
    if (next === undefined) other.push(index);
    else known.push({ index, row, next });
  });
  // One lock order for every batch of this model: two batches over the same rows wait rather than deadlock.
  known.sort((a, b) => compareKeys(a.row.pk, b.row.pk));
  try {
    // Each phase, and each row written by its kind's own update(), is a call of
    // its own in the transaction: update() may open a savepoint, which waits
    // for the calls that have run statements to finish.
    return await inTransaction(db, session, atomic, async () => {
      const versions: (number | undefined)[] = new Array(rows.length).fill(undefined);
      const written: boolean[] = new Array(rows.length).fill(false);
      const refused: number[] = [];
      const errors = new Map<number, RecordModifiedError>();
      await call(db, meta, async (s) => {
        const matched = await writeKnown(db, s, meta, known);
        known.forEach((k, i) => {
          if (!matched[i]) return refused.push(k.index);
          written[k.index] = true;
          versions[k.index] = k.next;
        });
        for (const index of refused) errors.set(index, await classify(db, s, meta, rows[index]!));
      });
      for (const index of other) {
        const row = rows[index]!;
        try {
          const r = await call(db, meta, (s) => strategy.update({ db, session: s, meta, target: row.target, pk: row.pk, changed: row.changed, values: row.values, policy: row.policy }));
          written[index] = true;
          versions[index] = r.version;
        } catch (err) {
          if (!(err instanceof RecordModifiedError)) throw err;
          refused.push(index);
          errors.set(index, err);
        }
      }
      refused.sort((a, b) => a - b);
      const conflicts: RecordModifiedError[] = [];
      for (const index of refused) conflicts.push(errors.get(index)!);
      const outcome = { versions, written, conflicts };
      if (atomic && conflicts.length > 0) throw new Refused(outcome);
      return outcome;
    });
  } catch (err) {
    if (!(err instanceof Refused)) throw err;
    return { versions: rows.map(() => undefined), written: rows.map(() => false), conflicts: err.outcome.conflicts };
  }
}

/** Runs `fn` as one call of its own in the transaction open here. */
async function call<T>(db: Database, meta: ModelMeta, fn: (s: Session) => Promise<T>): Promise<T> {
  const s = db.session(`${meta.modelName}.saveAll()`);
  try {
    return await fn(s);
  } finally {
    s.end();
  }
}

/** The error of a refused row: one read tells changed from deleted (a DatabaseValueError for an unusable version is thrown). */
async function classify(db: Database, session: Session, meta: ModelMeta, row: BatchRow): Promise<RecordModifiedError> {
  const err = await conflict(db, session, meta, row.target, row.pk, 'update', row.policy.held, true);
  if (err instanceof RecordModifiedError) return err;
  throw err;
}

/** Writes the rows whose next version is known; whether each matched, in the order given. */
async function writeKnown(db: Database, session: Session, meta: ModelMeta, known: readonly KnownRow[]): Promise<boolean[]> {
  const matched: boolean[] = new Array(known.length).fill(false);
  if (known.length === 0) return matched;
  const dialect = db.adapter.batchUpdate;
  if (dialect !== undefined) {
    // Grouped by shape (the set of changed fields): one statement text per shape and chunk size.
    const byShape = new Map<string, number[]>();
    known.forEach((k, i) => {
      const key = positions(meta, k.row.changed);
      let group = byShape.get(key);
      if (group === undefined) byShape.set(key, (group = []));
      group.push(i);
    });
    for (const group of byShape.values()) {
      const changed = known[group[0]!]!.row.changed;
      const hits = await statementBatch(db, session, meta, dialect, changed, group.map((i) => ({ pk: known[i]!.row.pk, held: known[i]!.row.policy.held!, next: known[i]!.next, values: known[i]!.row.values })));
      group.forEach((i, j) => (matched[i] = hits[j]!));
    }
    return matched;
  }
  // One prepared compare-and-swap per row, on the transaction's connection.
  for (let i = 0; i < known.length; i++) {
    const { row, next } = known[i]!;
    const sql = updateSql(db, meta, { changed: row.changed, versionSet: '?', checked: true, returning: undefined });
    const bindings: unknown[] = [...row.values, next, meta.pk.field.toDb(row.pk as never), row.policy.held];
    const r = await execute(db, session, { sql, bindings, method: 'update' });
    matched[i] = r.rowCount > 0;
  }
  return matched;
}

function compareKeys(a: unknown, b: unknown): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
