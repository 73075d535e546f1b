import { KnexConcurrencyError } from '../errors';

/**
 * The errors `bin/migrate` and `Migrator` raise on purpose. Each message
 * says what happened and what to do; each carries the data as properties.
 */

/** Root of the migration errors. */
export class MigrationError extends KnexConcurrencyError {}

/** A migration file could not be read, transpiled or evaluated, or lacks `up`/`down`. Nothing ran. */
export class MigrationLoadError extends MigrationError {
  /** The migration's file name. */
  readonly migration: string;

  constructor(migration: string, problem: string, options?: { cause?: unknown }) {
    super(`cannot load migration ${migration}: ${problem}`, options);
    this.migration = migration;
  }
}

/**
 * Applied migrations no longer match their files: a file was edited after it
 * was applied, or deleted. Raised before anything runs.
 */
export class MigrationIntegrityError extends MigrationError {
  /** Applied migrations whose file changed since. */
  readonly mismatched: readonly string[];
  /** Applied migrations whose file is gone. */
  readonly missing: readonly string[];

  constructor(mismatched: readonly string[], missing: readonly string[]) {
    const lines = [
      ...mismatched.map((m) => `checksum mismatch: ${m}`),
      ...missing.map((m) => `missing migration file: ${m}`),
    ];
    const advice = [
      mismatched.length > 0
        ? 'An applied migration was edited: revert the edit and write a new migration instead, or, if the edit changes nothing that was applied (a comment, a fix to down()), accept it with `migrate accept <file>`.'
        : '',
      missing.length > 0 ? 'An applied migration file is gone: restore it from version control.' : '',
    ].filter(Boolean);
    super(`${lines.join('\n')}\nNothing was run. ${advice.join(' ')}`);
    this.mismatched = Object.freeze([...mismatched]);
    this.missing = Object.freeze([...missing]);
  }
}

/** Another run holds the migration lock (and kept it past the lock timeout, if there was one). Nothing ran. */
export class MigrationLockBusyError extends MigrationError {
  /** Who held the lock, when the database can tell. */
  readonly holder: string | undefined;
  readonly timeoutMs: number;

  constructor(holder: string | undefined, timeoutMs: number) {
    const waited = timeoutMs > 0 ? ` and did not release it within ${timeoutMs / 1000} s` : '';
    super(
      `another migration run holds the migration lock (${holder ?? 'holder unknown'})${waited}; nothing was done. ` +
        'Wait for it to finish and run again' +
        (timeoutMs > 0 ? ', or wait longer with --lock-timeout' : '') +
        '. The lock is released when the holding process ends, even if it is killed.',
    );
    this.holder = holder;
    this.timeoutMs = timeoutMs;
  }
}

/**
 * `bin/migrate` will not change the schema through this connection, because
 * it would be unsafe or impossible there: a PostgreSQL replica (read-only,
 * in recovery), or a Galera node that cannot apply DDL to the whole cluster.
 * `reason` says which and what to do. Nothing was done.
 */
export class MigrationRefusedError extends MigrationError {
  /** Why, and what to do instead. */
  readonly reason: string;

  constructor(reason: string) {
    super(`migrations refused: ${reason}. Nothing was done.`);
    this.reason = reason;
  }
}

/**
 * A migration threw. `applied` lists what this run applied and kept; on a
 * database whose DDL rolls back (PostgreSQL, SQLite) the failed migration left
 * nothing behind, elsewhere (`partial`) it may be half-applied. The original
 * error is the `cause`.
 */
export class MigrationFailedError extends MigrationError {
  /** The file of the migration that threw. */
  readonly migration: string;
  readonly direction: 'up' | 'down';
  /** Migrations of this run that were applied (or, rolling back, undone) and recorded before the failure. */
  readonly applied: readonly string[];
  /** The failed migration's changes may be partly in the database (no transactional DDL, or `transaction: false`). */
  readonly partial: boolean;

  /**
   * `partialBecause` says why the failed migration's changes may have stayed
   * (the database commits DDL at once, or the migration ran without a
   * transaction); absent, they were rolled back.
   */
  constructor(details: { migration: string; direction: 'up' | 'down'; applied: readonly string[]; partialBecause?: string; cause: unknown }) {
    const { migration, direction, applied, partialBecause } = details;
    const partial = partialBecause !== undefined;
    const reason = details.cause instanceof Error ? details.cause.message : String(details.cause);
    const done = direction === 'up' ? 'applied' : 'rolled back';
    const kept =
      applied.length > 0
        ? `Already ${done} and recorded by this run: ${applied.join(', ')}.`
        : `Nothing from this run was ${done}${partial ? ' and recorded' : ': its changes were rolled back'}.`;
    const half = partial
      ? ` The database may be partially migrated: ${partialBecause}, so part of ${migration} may have been ${done} although it was not recorded. ` +
        'Check the schema, undo or finish its changes by hand, then run again.'
      : ` ${migration} left no changes and was not recorded; fix it and run again.`;
    super(`migration ${migration} failed (${direction}): ${reason}\n${kept}${half}`, { cause: details.cause });
    this.migration = migration;
    this.direction = direction;
    this.applied = Object.freeze([...applied]);
    this.partial = partial;
  }
}

/**
 * The migrations ran and were recorded, but they removed version triggers
 * that `TriggerVersionField`s rely on (a table rebuild such as SQLite's
 * `.alter()` or `dropColumn` drops a table's triggers). Until the triggers are
 * recreated, saves of those models fail loudly; nothing is written unchecked.
 */
export class MigrationTriggerError extends MigrationError {
  /** The batch that was applied (or rolled back). */
  readonly batch: number;
  /** One line per trigger, saying how to recreate it. */
  readonly problems: readonly string[];

  constructor(batch: number, direction: 'up' | 'down', problems: readonly string[]) {
    const done = direction === 'up' ? 'applied' : 'rolled back';
    super(
      `batch ${batch} was ${done}, but it left version triggers missing:\n` +
        problems.map((p) => `  ${p}`).join('\n') +
        '\nThen confirm with `migrate triggers check`.',
    );
    this.batch = batch;
    this.problems = Object.freeze([...problems]);
  }
}
