/**
 * The whole error hierarchy. Every error the library throws on purpose is a
 * `KnexConcurrencyError`; each carries the data a caller needs to react
 * (model, primary key, versions, field) and a message that says what to do.
 *
 * References to model instances are non-enumerable so that logging an error
 * does not dump a whole record graph.
 */

import type { Model } from './model';
import type { ConflictReport, ConflictReportJSON, ResolveStrategy } from './conflict-report';
import type { SchemaProblem } from './migrations/schema-problems';

export type Operation = 'update' | 'delete';

/** Root of every error raised by knex-concurrency. */
export class KnexConcurrencyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false, configurable: true, writable: true });
  }
}

function hide(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, configurable: true, writable: false });
}

let attachReport: (err: RecordModifiedError, report: ConflictReport) => void;

/** @internal Gives a conflict error its report (the write path builds both). */
export function withConflictReport<E extends RecordModifiedError>(err: E, report: ConflictReport): E {
  attachReport(err, report);
  return err;
}

/**
 * Someone else changed the row since this instance was loaded: the
 * compare-and-swap matched no row.
 *
 * @example
 * ```ts
 * try {
 *   await product.save();
 * } catch (err) {
 *   if (!(err instanceof RecordModifiedError)) throw err;
 *   await product.refresh(); // reload, re-apply the change, save again
 * }
 * ```
 */
export class RecordModifiedError<T extends Model = Model> extends KnexConcurrencyError {
  /** The instance whose write was refused (non-enumerable). `isFor(Product)` narrows it to a `Product`. */
  declare readonly target: T;
  /** Model class name. */
  readonly model: string;
  /** Primary key of the row. */
  readonly pk: unknown;
  readonly operation: Operation;
  /** The version the instance held when it tried to write (`null` for a model without a version field). */
  readonly expectedVersion: number | null;
  /** The version the database holds now; `null` when the row is gone. */
  readonly actualVersion: number | null;

  constructor(details: {
    /** The model instance (typed loosely so the write path need not know its class). */
    target: object;
    model: string;
    pk: unknown;
    operation: Operation;
    expectedVersion: number | null;
    actualVersion: number | null;
    message?: string;
    /** The driver's error, when the database aborted the write rather than matching no row. */
    cause?: unknown;
  }) {
    super(details.message ?? RecordModifiedError.describe(details), details.cause === undefined ? undefined : { cause: details.cause });
    hide(this, 'target', details.target);
    this.model = details.model;
    this.pk = details.pk;
    this.operation = details.operation;
    this.expectedVersion = details.expectedVersion;
    this.actualVersion = details.actualVersion;
  }

  /**
   * `instanceof` as usual; declared so that TypeScript narrows
   * `err instanceof RecordModifiedError` to `RecordModifiedError<Model>`
   * (a generic class alone would narrow to `<any>`, hiding typos in `err.target`).
   */
  static override [Symbol.hasInstance]<C extends abstract new (...args: never[]) => unknown>(this: C, value: unknown): value is InstanceType<C> {
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  /**
   * Whether the refused instance is a `cls`; narrows `target` to it.
   *
   * @example
   * ```ts
   * if (err instanceof RecordModifiedError && err.isFor(Product)) console.log(err.target.name);
   * ```
   */
  isFor<M extends Model>(cls: abstract new () => M): this is RecordModifiedError<M> {
    return this.target instanceof cls;
  }

  #report: ConflictReport | undefined;

  static {
    attachReport = (err, report) => {
      err.#report = report;
    };
  }

  /**
   * The conflict report: the values as loaded, as attempted and as they are
   * now, and which fields each side changed. `undefined` for a conflict the
   * library raised without one (a bulk write).
   */
  get conflictReport(): ConflictReport | undefined {
    return this.#report;
  }

  /** Every field as the instance loaded it (its baseline when it tried to write). */
  get original(): Readonly<Record<string, unknown>> | undefined {
    return this.#report?.original;
  }

  /** Every field as the caller tried to write it; `null` for a delete. */
  get attempted(): Readonly<Record<string, unknown>> | null | undefined {
    return this.#report?.attempted;
  }

  /** The row in the database now, hydrated; `null` when it is gone. */
  get current(): Readonly<Record<string, unknown>> | null | undefined {
    return this.#report?.current;
  }

  /** Fields changed both by the caller and by someone else since the load. */
  get conflictingFields(): readonly string[] {
    return this.#report?.conflictingFields ?? [];
  }

  /**
   * An instance at the row's current version with the conflict settled:
   * `'mine'` (the caller's changes win), `'theirs'` (they are dropped), or a
   * function choosing each field changed by both sides. Ready to `save()`,
   * which checks the version again.
   *
   * @example
   * ```ts
   * } catch (err) {
   *   if (!(err instanceof RecordModifiedError) || err instanceof RecordDeletedError) throw err;
   *   const merged = err.resolve<Product>((field, { mine, theirs }) => (field === 'stock' ? Math.min(mine as number, theirs as number) : mine));
   *   await merged.save();
   * }
   * ```
   */
  resolve<T extends object = object>(strategy: ResolveStrategy): T {
    return this.#needReport().resolve<T>(strategy);
  }

  /**
   * The caller's changes merged on top of everyone else's when no field was
   * changed by both; throws `UsageError` naming the fields when some were.
   */
  mergeIfDisjoint<T extends object = object>(): T {
    return this.#needReport().mergeIfDisjoint<T>();
  }

  /** The error as JSON, its conflict report without the model's private fields. */
  toJSON(): Record<string, unknown> & { conflict?: ConflictReportJSON } {
    const out: Record<string, unknown> & { conflict?: ConflictReportJSON } = {
      name: this.name,
      message: this.message,
      model: this.model,
      pk: this.pk,
      operation: this.operation,
      expectedVersion: this.expectedVersion,
      actualVersion: this.actualVersion,
    };
    if (this.#report !== undefined) out.conflict = this.#report.toJSON();
    return out;
  }

  #needReport(): ConflictReport {
    if (this.#report === undefined) throw new UsageError(`this conflict of ${this.model} ${String(this.pk)} carries no report to resolve; refresh() the instance and re-apply the change`);
    return this.#report;
  }

  private static describe(d: { model: string; pk: unknown; operation: Operation; expectedVersion: number | null; actualVersion: number | null }): string {
    const verb = d.operation === 'delete' ? 'delete' : 'save';
    if (d.expectedVersion !== null && d.actualVersion !== null && d.actualVersion < d.expectedVersion) {
      // Versions only rise, so the one this instance holds was never committed:
      // it saved inside a transaction that is still open (PostgreSQL does not
      // wait for it: the other writer's row is not yet visible), or that rolled
      // back; or other SQL set the version back.
      return (
        `${d.model} ${String(d.pk)}: the version you hold (${d.expectedVersion}) is not committed yet ` +
        `(the database's committed row has ${d.actualVersion}, lower): it was written inside a transaction that is still open, ` +
        `or that rolled back. Nothing was written: ${verb} it inside that transaction, or after it commits; ` +
        `if it rolled back, refresh() and re-apply your change.`
      );
    }
    return (
      `${d.model} ${String(d.pk)} was changed by someone else ` +
      `(you held version ${d.expectedVersion}, the database has ${d.actualVersion}); ` +
      `nothing was written: refresh() and re-apply your change, then ${verb} again.`
    );
  }
}

/**
 * The row was deleted by someone else. A subclass of `RecordModifiedError`
 * (so one `catch` handles both) with `actualVersion: null`. The row is never
 * re-inserted.
 */
export class RecordDeletedError<T extends Model = Model> extends RecordModifiedError<T> {
  declare readonly actualVersion: null;

  constructor(details: { target: object; model: string; pk: unknown; operation: Operation; expectedVersion: number | null; cause?: unknown }) {
    const held = details.expectedVersion === null ? '' : ` (you held version ${details.expectedVersion})`;
    super({
      ...details,
      actualVersion: null,
      message:
        `${details.model} ${String(details.pk)} was deleted by someone else${held}; ` +
        `nothing was written and the row was not re-created. Create a new record if it should exist again.`,
    });
  }
}

/**
 * `Model.saveAll()` met rows that someone else changed or deleted. It reports
 * all of them at once: `conflicts` holds one `RecordModifiedError` (or
 * `RecordDeletedError`) per refused instance, each with its target, versions
 * and conflict report, as `save()` would have thrown it. With
 * `{ atomic: true }` (the default) nothing was written and every instance is
 * as it was; with `{ atomic: false }` the other changed instances were saved
 * (`savedCount`) and only the refused ones are as they were.
 *
 * @example
 * ```ts
 * try {
 *   await Product.saveAll(products);
 * } catch (err) {
 *   if (!(err instanceof BatchConflictError)) throw err;
 *   for (const c of err.conflicts) await c.target.refresh(); // re-apply the changes, saveAll() again
 * }
 * ```
 */
export class BatchConflictError<T extends Model = Model> extends KnexConcurrencyError {
  /** Model class name. */
  readonly model: string;
  /** One error per refused instance, in the order the instances were given. */
  readonly conflicts: readonly RecordModifiedError<T>[];
  /** Whether the batch was all-or-nothing (then nothing was written). */
  readonly atomic: boolean;
  /** Instances written by this call: 0 when atomic. */
  readonly savedCount: number;

  constructor(details: { model: string; conflicts: readonly RecordModifiedError[]; atomic: boolean; savedCount: number; changedCount: number }) {
    const { model, conflicts, atomic } = details;
    const deleted = conflicts.filter((c) => c instanceof RecordDeletedError);
    const modified = conflicts.length - deleted.length;
    const keys = conflicts.slice(0, 10).map((c) => String(c.pk)).join(', ') + (conflicts.length > 10 ? `, ... (${conflicts.length - 10} more)` : '');
    const what = [modified > 0 ? `${modified} changed` : '', deleted.length > 0 ? `${deleted.length} deleted` : ''].filter(Boolean).join(' and ');
    const outcome = atomic
      ? 'Nothing was written (atomic) and every instance is as it was'
      : `The other ${details.savedCount} changed instance(s) were saved; the refused ones were not and are as they were`;
    super(
      `${model}.saveAll(): ${conflicts.length} of ${details.changedCount} row(s) were ${what} by someone else (${model} ${keys}). ${outcome}. ` +
        'refresh() each refused instance (err.conflicts[i].target), re-apply its change and save again; a deleted row is never re-created.',
    );
    this.model = model;
    this.conflicts = Object.freeze([...conflicts]) as readonly RecordModifiedError<T>[];
    this.atomic = atomic;
    this.savedCount = details.savedCount;
  }

  /** As on `RecordModifiedError`: narrows `err instanceof BatchConflictError` to `BatchConflictError<Model>`. */
  static override [Symbol.hasInstance]<C extends abstract new (...args: never[]) => unknown>(this: C, value: unknown): value is InstanceType<C> {
    return Function.prototype[Symbol.hasInstance].call(this, value);
  }

  /** The refused instances whose rows were deleted. */
  get deleted(): readonly RecordDeletedError<T>[] {
    return this.conflicts.filter((c): c is RecordDeletedError<T> => c instanceof RecordDeletedError);
  }
}

/**
 * A `TriggerVersionField` write found no working version trigger: the
 * version did not move. Nothing was written (the write was rolled back, or
 * never ran). Create the trigger and retry.
 *
 * @example
 * ```ts
 * try {
 *   await product.save();
 * } catch (err) {
 *   if (!(err instanceof MissingTriggerError)) throw err;
 *   await createVersionTrigger(db.knex, err.table, err.column); // or bin/migrate triggers create
 * }
 * ```
 */
export class MissingTriggerError extends KnexConcurrencyError {
  /** Model class name. */
  readonly model: string;
  readonly table: string;
  /** The version column the trigger maintains. */
  readonly column: string;
  /** The name the trigger has when `createVersionTrigger` creates it. */
  readonly trigger: string;
  /** Primary key of the row, `undefined` for a bulk `query().update()`. */
  readonly pk: unknown;

  constructor(details: { model: string; table: string; column: string; trigger: string; pk?: unknown }) {
    const what = details.pk === undefined ? `${details.model}.query().update() was refused` : `${details.model} ${String(details.pk)} was not saved`;
    super(
      `${what}: the version trigger "${details.trigger}" on table ${details.table} is missing or disabled, ` +
        `so ${details.table}.${details.column} would not rise and the write would go unprotected. Nothing was written. ` +
        `Create it with createVersionTrigger(knex, '${details.table}', '${details.column}') in a migration, ` +
        `or run: bin/migrate triggers create --table ${details.table} --column ${details.column}`,
    );
    this.model = details.model;
    this.table = details.table;
    this.column = details.column;
    this.trigger = details.trigger;
    this.pk = details.pk;
  }
}

/** Why the database refused a transaction that may succeed when run again. */
export type RetryReason = 'serialization' | 'deadlock' | 'lock-timeout' | 'busy' | 'schema-changed';

/**
 * Where a database failure struck: getting a connection (nothing was sent
 * yet), starting the transaction, running a statement, or at COMMIT.
 */
export type FailurePhase = 'connect' | 'begin' | 'statement' | 'commit';

/** What the library knows about a database failure, for the errors below. */
export interface FailureDetails {
  /** `'sqlite' | 'postgres' | 'mysql'`. */
  readonly dialect: string;
  /** The driver's code (`'40001'`, `1213`, `'SQLITE_BUSY'`...). */
  readonly code: string | number | undefined;
  /** A human name of the code, e.g. `PostgreSQL 40001 serialization_failure`. */
  readonly label: string;
  readonly phase: FailurePhase;
  /** The failure happened inside `db.transaction()`. */
  readonly inTransaction: boolean;
}

/**
 * What every error the database itself raised carries, whatever it means:
 * the dialect, the driver's code and where it struck. The driver's error is
 * the `cause`.
 */
export abstract class DatabaseFailureError extends KnexConcurrencyError {
  /** `'sqlite' | 'postgres' | 'mysql'`. */
  readonly dialect: string;
  /** The driver's code (`'40001'`, `1213`, `'ECONNREFUSED'`, `'SQLITE_BUSY'`...). */
  readonly code: string | number | undefined;
  readonly phase: FailurePhase;

  protected constructor(message: string, details: Pick<FailureDetails, 'dialect' | 'code' | 'phase'>, cause: unknown) {
    super(message, { cause });
    this.dialect = details.dialect;
    this.code = details.code;
    this.phase = details.phase;
  }
}

const RETRY_CAUSES: Record<RetryReason, string> = {
  serialization: 'a concurrent transaction changed data this one read or wrote',
  deadlock: 'the database aborted this transaction for a conflict with another (a deadlock, or on a Galera cluster a write to the same rows certified first on another node)',
  'lock-timeout': 'a lock held by another transaction was not released in time',
  busy: 'another connection holds the database write lock',
  'schema-changed': 'a table changed under a prepared statement (a migration altered a column), which is prepared again on the next run',
};

/**
 * The database aborted the work for a reason that running it again, from
 * the start, may fix: a serialization failure (PostgreSQL 40001, MariaDB
 * 1020), a deadlock (40P01, 1213), a lock wait timeout (55P03, 1205), or
 * SQLite's `SQLITE_BUSY`. By the time you see it the whole transaction has
 * been rolled back (even where the database itself would have kept it open,
 * as MariaDB does after 1205) and every instance written in it is restored,
 * so nothing was written. `retryOnConflict()` retries it.
 *
 * It is not a `RecordModifiedError`: it can strike at COMMIT, where no single
 * row is to blame, and its remedy is to re-run the whole transaction, not to
 * refresh one instance and carry on inside it.
 *
 * @example
 * ```ts
 * await retryOnConflict(() =>
 *   db.transaction(async () => {
 *     const a = await Account.get(1);
 *     a.balance -= 10;
 *     await a.save();
 *   }, { isolation: 'serializable' }),
 * );
 * ```
 */
export class RetryableError extends DatabaseFailureError {
  readonly reason: RetryReason;

  constructor(reason: RetryReason, details: FailureDetails, cause: unknown) {
    const where = details.phase === 'commit' ? ', at COMMIT' : details.phase === 'begin' ? ', at BEGIN' : '';
    const scope = details.inTransaction ? 'the whole transaction was rolled back' : 'the statement was rolled back';
    super(
      `The database refused the work (${details.label}${where}): ${RETRY_CAUSES[reason]}. ` +
        `Nothing was written (${scope}): run it again from the start; retryOnConflict() does.`,
      details,
      cause,
    );
    this.reason = reason;
  }
}

/**
 * The connection to the database died under a statement: the server was
 * restarted, the connection was killed (`pg_terminate_backend`, `KILL`), the
 * network failed. The pool drops the dead connection; the next call opens a
 * new one.
 *
 * When `outcomeUnknown` is `true` (the connection died during COMMIT, or
 * during a write outside a transaction) the write **may or may not have been
 * applied**: reload the rows before deciding anything. Otherwise the server
 * rolled the unfinished transaction back and nothing was written.
 * `retryOnConflict()` does not retry it: blindly repeating a write whose
 * outcome is unknown could apply it twice.
 *
 * @example
 * ```ts
 * try {
 *   await order.save();
 * } catch (err) {
 *   if (err instanceof ConnectionLostError && err.outcomeUnknown) await order.refresh();
 *   else throw err;
 * }
 * ```
 */
export class ConnectionLostError extends DatabaseFailureError {
  /** The write may have been applied: reload before deciding what to do. */
  readonly outcomeUnknown: boolean;
  /**
   * Running the work again cannot apply it twice: nothing was written
   * (`!outcomeUnknown`). With an unknown outcome, reload first.
   */
  readonly safeToRetry: boolean;

  constructor(details: FailureDetails & { write: boolean }, cause: unknown) {
    const outcomeUnknown = details.phase === 'commit' || (!details.inTransaction && details.write && details.phase === 'statement');
    const during = details.phase === 'commit' ? 'during COMMIT' : details.inTransaction ? 'inside a transaction' : details.write ? 'during a write' : 'during a read';
    const outcome = outcomeUnknown
      ? 'the outcome is unknown: the write may or may not have been applied. Reload the rows to find out before doing anything else; do not blindly retry.'
      : 'nothing was written (the server discards an unfinished transaction). The dead connection was dropped from the pool: run the work again once the database answers.';
    super(`The connection to the database was lost ${during} (${details.label}): ${outcome}`, details, cause);
    this.outcomeUnknown = outcomeUnknown;
    this.safeToRetry = !outcomeUnknown;
  }
}

/**
 * The database refused a write because it is read-only: the connection
 * reaches a replica (PostgreSQL 25006 on a standby), a server or session
 * that is read-only (MySQL/MariaDB 1290 under `--read-only`, 1792 in a READ
 * ONLY transaction, 1836 read-only mode), or a SQLite file opened read-only
 * (`SQLITE_READONLY`). Nothing was written; inside a transaction the whole
 * transaction was rolled back. Running it again will fail the same way:
 * send writes to the primary (`connect({ primary, replicas })` routes them
 * there). `retryOnConflict()` does not retry it.
 *
 * @example
 * ```ts
 * try {
 *   await order.save();
 * } catch (err) {
 *   if (err instanceof ReadOnlyDatabaseError) console.error('this app is connected to a replica:', err.message);
 *   throw err;
 * }
 * ```
 */
export class ReadOnlyDatabaseError extends DatabaseFailureError {
  constructor(details: FailureDetails, cause: unknown) {
    const scope = details.inTransaction ? 'the whole transaction was rolled back' : 'the statement was refused';
    super(
      `The database refused a write because it is read-only (${details.label}): this connection reaches a replica or a read-only server or file. ` +
        `Nothing was written (${scope}). Send writes to the primary: connect({ primary, replicas }) routes them there.`,
      details,
      cause,
    );
  }
}

/** Why no connection to the database could be had. */
export type UnavailableReason =
  /** Nothing listens at the address: the server is down or restarting (ECONNREFUSED, MySQL 2002/2003). */
  | 'refused'
  /** The host name does not resolve (ENOTFOUND, EAI_AGAIN). */
  | 'dns'
  /** The host or network cannot be reached, or the connection attempt timed out. */
  | 'unreachable'
  /** The server is starting up or recovering and does not accept connections yet (PostgreSQL 57P03). */
  | 'starting-up'
  /** The server is shutting down (PostgreSQL 57P03, 57P01 while connecting; MySQL 1053). */
  | 'shutting-down'
  /** A cluster node that is not part of the cluster's primary component or not synced with it yet (Galera's 1047, `wsrep_ready` OFF). */
  | 'not-ready'
  /** The connection was dropped while it was being set up. */
  | 'dropped'
  /** The server has no connection slot left (PostgreSQL 53300, MySQL 1040). */
  | 'too-many-connections'
  /** The server refused the credentials (PostgreSQL 28P01, 28000; MySQL 1045, 1044, 1698). */
  | 'auth'
  /** TLS could not be set up: no TLS on the server, or a certificate that does not verify. */
  | 'tls'
  /** Every connection of the pool stayed busy until the acquire timeout. */
  | 'pool-timeout'
  /** SQLite could not open the database file (a missing directory, no permission). */
  | 'cannot-open';

const UNAVAILABLE_CAUSES: Record<UnavailableReason, string> = {
  refused: 'nothing accepts connections at that address: the server is down or restarting, or the address is wrong',
  dns: 'the host name does not resolve',
  unreachable: 'the host could not be reached in time',
  'starting-up': 'the server is starting up and does not accept connections yet',
  'shutting-down': 'the server is shutting down',
  'not-ready': 'the cluster node is not synced with the cluster (joining, leaving, or cut off from the primary component)',
  dropped: 'the connection was dropped while it was being set up',
  'too-many-connections': 'the server has no connection slot left',
  auth: 'the server refused the credentials',
  tls: 'TLS could not be set up',
  'pool-timeout': 'every connection of the pool stayed busy until the acquire timeout',
  'cannot-open': 'the database file could not be opened',
};

// Reasons that waiting can cure; the others need a change of configuration.
const TRANSIENT: ReadonlySet<UnavailableReason> = new Set(['refused', 'dns', 'unreachable', 'starting-up', 'shutting-down', 'not-ready', 'dropped', 'too-many-connections', 'pool-timeout']);

/**
 * No connection to the database could be had: the server refused the
 * connection, was starting up or shutting down, the host name did not
 * resolve, the credentials or TLS were refused at (re)connect, or the pool
 * had no free connection before its acquire timeout. Nothing was sent to
 * the database, so **nothing was written** (`outcomeUnknown` is always
 * `false`) and running the work again is safe (`safeToRetry`); `transient`
 * says whether waiting can help (a restart, a full pool) or the
 * configuration must change (credentials, TLS, a file path).
 *
 * The pool keeps no dead connection: once the server answers again, the
 * next call connects afresh.
 *
 * @example
 * ```ts
 * try {
 *   await order.save();
 * } catch (err) {
 *   if (err instanceof DatabaseUnavailableError && err.transient) return respond(503, { retryAfter: 1 });
 *   throw err;
 * }
 * ```
 */
export class DatabaseUnavailableError extends DatabaseFailureError {
  readonly reason: UnavailableReason;
  /** Always `false`: no statement reached the database. */
  readonly outcomeUnknown: false = false;
  /** Always `true`: nothing was written, so running the work again cannot apply it twice. */
  readonly safeToRetry: true = true;
  /** Waiting may cure it (a restart, a full pool); otherwise the configuration must change. */
  readonly transient: boolean;

  constructor(reason: UnavailableReason, details: Omit<FailureDetails, 'inTransaction'>, cause: unknown) {
    const transient = TRANSIENT.has(reason);
    const remedy =
      reason === 'pool-timeout'
        ? 'Raise the pool size or acquireConnectionTimeout, or look for transactions that hold connections too long'
        : transient
          ? 'Run the work again once the database answers: the pool connects afresh'
          : 'Check the connection settings; running the work again fails the same way until they change';
    super(`Could not get a connection to the database (${details.label}): ${UNAVAILABLE_CAUSES[reason]}. Nothing was written. ${remedy}.`, details, cause);
    this.reason = reason;
    this.transient = transient;
  }
}

/**
 * A value the database holds cannot be used as it is, so nothing was
 * written: an integer beyond JavaScript's safe range (above 2^53 - 1, where
 * numbers lose precision), or a version column that is NULL. Only SQL outside
 * the library writes these (this library never does); the message says how
 * to repair the row. Not a `RecordModifiedError`: refreshing and retrying
 * cannot help until the row is repaired.
 *
 * @example
 * ```ts
 * try {
 *   await product.save();
 * } catch (err) {
 *   if (err instanceof DatabaseValueError) console.error(err.message); // repair the row as it says
 *   else throw err;
 * }
 * ```
 */
export class DatabaseValueError extends KnexConcurrencyError {
  /** Model class name, when known. */
  readonly model: string | undefined;
  /** Primary key of the row, when known. */
  readonly pk: unknown;
  /** The column, when known. */
  readonly column: string | undefined;
  /** The value as the database holds it (decimal text), or `null` for a NULL. */
  readonly value: string | null;

  constructor(details: { model?: string; pk?: unknown; column?: string; value: string | null; message: string }) {
    super(details.message);
    this.model = details.model;
    this.pk = details.pk;
    this.column = details.column;
    this.value = details.value;
  }
}

/**
 * A model's table does not fit the model, found by the check a `Database`
 * runs before a model's first statement on it (its table exists, every
 * field has a column, the version column is a bigint). Nothing was run on
 * the table; each problem names the migration code that fixes it. The
 * check runs again at the next call, so once the migration has run the
 * model works without reconnecting. Turn the check off with
 * `connect(url, { schemaCheck: false })`.
 *
 * @example
 * ```ts
 * try {
 *   await Product.get(1);
 * } catch (err) {
 *   if (err instanceof SchemaMismatchError) for (const p of err.problems) console.error(p.message);
 *   throw err;
 * }
 * ```
 */
export class SchemaMismatchError extends KnexConcurrencyError {
  /** Model class name. */
  readonly model: string;
  readonly table: string;
  /** What differs, each with the migration code that fixes it (the shape `checkSchema()` resolves). */
  readonly problems: readonly SchemaProblem[];

  constructor(details: { model: string; table: string; problems: readonly SchemaProblem[] }) {
    super(
      `${details.model}: its table does not fit the model, so nothing was run: ${details.problems.map((p) => p.message).join(' ')} ` +
        `Run the migration that fixes it (bin/migrate make <name> --models <module> writes one), then call again; ` +
        `connect(url, { schemaCheck: false }) turns this check off.`,
    );
    this.model = details.model;
    this.table = details.table;
    this.problems = details.problems;
  }
}

/** `Model.get(pk)` or `refresh()` found no row. */
export class DoesNotExist extends KnexConcurrencyError {
  readonly model: string;
  readonly pk: unknown;

  constructor(model: string, pk: unknown) {
    super(`${model} ${String(pk)} does not exist.`);
    this.model = model;
    this.pk = pk;
  }
}

/** A value, attribute name or query argument was refused before any SQL ran. */
export class ValidationError extends KnexConcurrencyError {
  readonly model: string;
  /** Property name of the offending field (or the unknown name). */
  readonly field: string;
  declare readonly value: unknown;

  constructor(model: string, field: string, problem: string, value?: unknown) {
    super(`${model}.${field}: ${problem}`);
    this.model = model;
    this.field = field;
    hide(this, 'value', value);
  }
}

/** A model class is declared in a way that cannot work; the message says how to fix it. */
export class ModelDefinitionError extends KnexConcurrencyError {
  readonly model: string;

  constructor(model: string, problem: string) {
    super(`${model}: ${problem}`);
    this.model = model;
  }
}

/** The library was called in a way that cannot work (unbound model, deleting an unsaved instance, bad connect target...). */
export class UsageError extends KnexConcurrencyError {}

/**
 * A model call was made on a transaction that is over, or is closing: it
 * came from a timer, an event or an unawaited promise started inside
 * `db.transaction()` that ran after `fn` had settled (or after
 * `trx.commit()` / `trx.rollback()`). Nothing was written and the instance
 * is as it was. Await the work inside `fn`, or start it outside the
 * transaction.
 */
export class TransactionClosedError extends UsageError {
  constructor(what: string) {
    super(
      `${what}: the transaction it was started in is over (its function had settled, or it was committed or rolled back). ` +
        'Nothing was written. Await this call inside the transaction function, or make it outside the transaction.',
    );
  }
}

/**
 * `db.close()` was called: the call was refused, or was waiting for a
 * connection when the pool closed. Nothing was written and the instance is
 * as it was. Statements already running when `close()` was called finish
 * first, and so do the transactions they belong to.
 */
export class DatabaseClosedError extends UsageError {
  constructor(what: string, options?: { cause?: unknown }) {
    super(`${what}: the database was closed (db.close()). Nothing was written. Connect again to go on.`, options);
  }
}

/**
 * The database cancelled a statement that ran past its time limit
 * (PostgreSQL 57014 `statement_timeout`, MySQL 3024 `max_execution_time`,
 * MariaDB 1969 `max_statement_time`) or that was cancelled on the server
 * (PostgreSQL `pg_cancel_backend`, MySQL 1317 `KILL QUERY`). The statement
 * was undone, so it wrote nothing. Inside a transaction the whole
 * transaction is rolled back (PostgreSQL allows nothing else after it), and
 * `db.transaction()` rejects with this error. `retryOnConflict()` does not
 * retry it: running a slow statement again is rarely what fixes it.
 */
export class StatementTimeoutError extends DatabaseFailureError {
  constructor(details: FailureDetails, cause: unknown) {
    const scope = details.inTransaction ? 'the whole transaction was rolled back' : 'the statement was undone';
    super(`The database cancelled a statement (${details.label}): it ran past its time limit or was cancelled on the server. Nothing was written (${scope}).`, details, cause);
  }
}
