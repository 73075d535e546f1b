import type { Knex } from 'knex';
import type { Database } from '../database';
import type { FieldBinding, ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import type { VersionPolicy } from './version-policy';

/** One compare-and-swap write of one row, as a strategy receives it. */
export interface RowUpdate extends RowWrite {
  readonly db: Database;
  readonly session: Session;
  readonly meta: ModelMeta;
}

/** What a save writes to one row, taken when it started: by itself (`save()`) or as one row of a batch (`saveAll()`). */
export interface RowWrite {
  /** The instance, for the conflict error. */
  readonly target: object;
  readonly pk: unknown;
  readonly changed: readonly FieldBinding[];
  /** The database values of `changed`, in order. */
  readonly values: readonly unknown[];
  readonly policy: VersionPolicy;
}

/** What a successful update tells the instance. */
export interface UpdateResult {
  /** The version the row holds now (`undefined` for a model without one). */
  readonly version: number | undefined;
}

/**
 * The rule of one kind of version: how an UPDATE moves it and how the
 * instance learns the new value. One object per kind, chosen once per model
 * (see `versionStrategyFor`).
 */
export interface VersionStrategy {
  /**
   * Writes the row with a compare-and-swap on the version the policy holds;
   * throws `RecordModifiedError` / `RecordDeletedError` when no row matched,
   * having written nothing.
   */
  update(write: RowUpdate): Promise<UpdateResult>;
  /**
   * The version a write checked at `held` leaves, known before it runs, so a
   * batch can write `version = ?` with it row by row (`saveAll()`); the check
   * pins the row at `held`, so it equals what `update()` would write.
   * `undefined` when only the database knows it (a trigger), or there is no
   * version: such rows are written one by one with `update()`.
   */
  batchNext(held: number, increment: boolean): number | undefined;
  /**
   * The version column's value in a bulk `query().update()`, which checks no
   * version: a raw SQL expression (boxed: a Knex raw is thenable, and a
   * promise would run it), or `undefined` when the database moves it itself
   * (after making sure it will).
   */
  bulkSet(db: Database, session: Session, meta: ModelMeta): Promise<{ readonly sql: Knex.Raw } | undefined>;
}
