import type { Database } from './database';
import type { RecordModifiedError } from './errors';
import type { FieldBinding, ModelMeta } from './model-meta';
import type { VersionPolicy } from './persistence/version-policy';
import type { Session } from './transactions/session';

type Values = Record<string, unknown>;

/** What an update of one saved instance writes, taken when its save started. */
export interface PreparedUpdate {
  readonly pk: unknown;
  readonly changed: readonly FieldBinding[];
  /** The database values of `changed`, in order. */
  readonly values: readonly unknown[];
  /** The values as written (snapshots for mutable fields): the new baseline once saved. */
  readonly written: readonly unknown[];
  readonly policy: VersionPolicy;
}

/** What an insert of one new instance writes, taken when its save started. */
export interface PreparedInsert {
  readonly values: Values;
  /** Snapshots of its mutable values: the baseline once inserted. */
  readonly orig: Values | undefined;
}

/**
 * @internal The steps of `save()` that the batch calls (`saveAll`,
 * `createAll`) run for each instance: the model class holds the instances'
 * private state and hands these to them, so they need not import it.
 */
export interface BatchAccess {
  /** As `save()` before any SQL: the write, or `undefined` when unchanged; throws what `save()` would. */
  prepareUpdate(m: object, db: Database, meta: ModelMeta): PreparedUpdate | undefined;
  /** After the write: recorded in the session's transaction, then the new version and baseline. */
  finishUpdate(m: object, db: Database, session: Session, meta: ModelMeta, write: PreparedUpdate, version: number | undefined): void;
  /** The conflict with its report, counted and told to the database's listeners. */
  reportConflict(m: object, db: Database, meta: ModelMeta, err: RecordModifiedError, write: PreparedUpdate): RecordModifiedError;
  /** A new instance from attributes, as `create()` builds it (validated, nothing written). */
  build(cls: Function, meta: ModelMeta, attrs: unknown, what: string): object;
  prepareInsert(m: object, db: Database, meta: ModelMeta): PreparedInsert;
  finishInsert(m: object, db: Database, session: Session, meta: ModelMeta, insert: PreparedInsert, pk: unknown): void;
}
