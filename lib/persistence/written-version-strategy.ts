import type { Knex } from 'knex';
import type { Database } from '../database';
import { execute, type Statement } from '../executor';
import { nextClockVersion } from '../fields/version-clock';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { conflict } from './conflict';
import { inTransaction } from './in-transaction';
import { currentVersion } from './row-reads';
import { updateSql, versionColumn } from './update-statement';
import type { RowUpdate, UpdateResult, VersionStrategy } from './version-strategy';
import { versionFromDb } from './version-value';

const NO_BINDINGS: readonly unknown[] = Object.freeze([]);

/** How the UPDATE itself writes a new version: the `SET version = ...` part. */
interface VersionMove {
  readonly set: string;
  readonly bindings: readonly unknown[];
  /** The version after the write when it is known without reading it back. */
  readonly next: number | undefined;
}

/**
 * A version the UPDATE writes itself, by a rule of the application: the
 * `SET version = ...` part of the same statement, so the write and the
 * version move together. When the new value is known (a checked write), the
 * instance takes it; otherwise it is read back (RETURNING, or a read in the
 * write's own transaction, where the row lock keeps other writers out).
 */
class WrittenVersionStrategy implements VersionStrategy {
  constructor(
    /** The move of a write pinned at `held` by its check. */
    readonly checkedMove: (column: string, held: number) => VersionMove,
    /** The move of a write that checks nothing (the row's version is unknown). */
    readonly blindMove: (column: string) => VersionMove,
  ) {}

  update(u: RowUpdate): Promise<UpdateResult> {
    const { db, meta, policy } = u;
    const checked = policy.check && policy.held !== undefined;
    let move: VersionMove | undefined;
    if (policy.increment) move = checked ? this.checkedMove(versionColumn(db, meta), policy.held!) : this.blindMove(versionColumn(db, meta));
    const next = move === undefined ? policy.held : move.next;
    return updateWith(u, checked, move, next === undefined);
  }

  batchNext(held: number, increment: boolean): number | undefined {
    return increment ? this.checkedMove('', held).next : held;
  }

  async bulkSet(db: Database, _session: Session, meta: ModelMeta): Promise<{ readonly sql: Knex.Raw }> {
    const move = this.blindMove(versionColumn(db, meta));
    return { sql: db.knex.raw(move.set, move.bindings as Knex.RawBinding[]) };
  }
}

/**
 * Runs the UPDATE for `u` with the version moved by `move`; reads the new
 * version back when `readBack`.
 */
export function updateWith(u: RowUpdate, checked: boolean, move: VersionMove | undefined, readBack: boolean): Promise<UpdateResult> {
  const { db, session, meta, policy, pk } = u;
  const returning = readBack && db.adapter.supportsReturning ? versionColumn(db, meta) : undefined;
  // An unchecked write that raises the version: it is not pinned at a safe one.
  const belowLimit = !checked && move !== undefined;
  const sql = updateSql(db, meta, { changed: u.changed, versionSet: move?.set, checked, returning, belowLimit });
  const values = u.values;
  const extra = move === undefined ? NO_BINDINGS : move.bindings;
  const bindings: unknown[] = new Array<unknown>(values.length + extra.length + (checked ? 2 : 1));
  let n = 0;
  for (let i = 0; i < values.length; i++) bindings[n++] = values[i];
  for (let i = 0; i < extra.length; i++) bindings[n++] = extra[i];
  bindings[n++] = meta.pk.field.toDb(pk as never);
  if (checked) bindings[n] = policy.held;
  const stmt = { sql, bindings, method: 'update' as const, returning: returning !== undefined };

  const version = move === undefined ? policy.held : move.next;
  if (readBack && returning === undefined) return updateThenRead(u, stmt, checked, belowLimit);
  // A chain, not an async function: this runs once per save, and every promise costs (see transactions/scope.ts).
  return execute(db, session, stmt).then((r) => {
    if (r.rowCount === 0) return conflict(db, session, meta, u.target, pk, 'update', policy.held, checked, belowLimit).then(throwIt);
    if (returning !== undefined) return { version: versionFromDb(meta, pk, r.rows[0]?.[meta.version!.column]) };
    return { version };
  });
}

const throwIt = (err: Error): never => {
  throw err;
};

/**
 * The UPDATE, then a read of the new version in the same transaction, where
 * our own update's row lock keeps every other writer out until commit: for
 * a database without RETURNING.
 */
async function updateThenRead(u: RowUpdate, stmt: Statement, checked: boolean, belowLimit: boolean): Promise<UpdateResult> {
  const { db, session, meta, policy, pk } = u;
  const answer = await inTransaction(db, session, false, async (s) => {
    const r = await execute(db, s, stmt);
    if (r.rowCount === 0) return { rowCount: 0, version: undefined };
    return { rowCount: r.rowCount, version: (await currentVersion(db, s, meta, pk)) ?? undefined };
  });
  if (answer.rowCount === 0) throw await conflict(db, session, meta, u.target, pk, 'update', policy.held, checked, belowLimit);
  return { version: answer.version };
}

/**
 * `IntegerVersionField`: a microsecond clock. A checked write pins the row at
 * `held`, so max(clock, held + 1) is strictly larger; a blind one takes the
 * clock unless the row is already past it.
 */
export const clockVersionStrategy: VersionStrategy = new WrittenVersionStrategy(
  (_column, held) => {
    const clock = nextClockVersion();
    const next = clock > held ? clock : held + 1;
    return { set: '?', bindings: [next], next };
  },
  (column) => {
    const clock = nextClockVersion();
    return { set: `CASE WHEN ${column} < ? THEN ? ELSE ${column} + 1 END`, bindings: [clock, clock], next: undefined };
  },
);

// `version + 1` per quoted column: the same text every save, not a new string.
const plusOne = new Map<string, string>();
function plusOneOf(column: string): string {
  let set = plusOne.get(column);
  if (set === undefined) plusOne.set(column, (set = `${column} + 1`));
  return set;
}

/** `AutoIncVersionField`, `ConditionalVersionField`: `SET version = version + 1`. */
export const counterVersionStrategy: VersionStrategy = new WrittenVersionStrategy(
  (column, held) => ({ set: plusOneOf(column), bindings: NO_BINDINGS, next: held + 1 }),
  (column) => ({ set: plusOneOf(column), bindings: NO_BINDINGS, next: undefined }),
);

/** A model without a version field: a plain UPDATE by key, reported as such. */
export const noVersionStrategy: VersionStrategy = {
  update: (u) => updateWith(u, false, undefined, false),
  batchNext: () => undefined,
  bulkSet: async () => undefined,
};
