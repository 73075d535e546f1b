import * as path from 'node:path';
import type { Knex } from 'knex';
import type { Database } from '../database';
import { UsageError } from '../errors';
import type { MigrationLock } from '../dialects/migration-lock';
import { MigrationChecksums } from './checksums';
import { InProgressMigrations, isSettled } from './in-progress-migrations';
import { KnexMigrationTables } from './knex-migration-tables';
import type { MigrationEvent, MigrationRun, MigratorOptions, UnlockReport } from './migration-events';
import { checkTriggersAfterMigration } from './check-version-triggers';
import { MigrationFailedError, MigrationIntegrityError, MigrationLockBusyError, MigrationTriggerError } from './migration-errors';
import { assessMigrations, MigrationStatus } from './migration-status';
import { RunRecorder } from './run-recorder';
import { MigrationFile, TypeScriptMigrationSource } from './typescript-migration-source';
import { listVersionTriggers } from './version-triggers';

const DEFAULTS = Object.freeze({ directory: './migrations', tableName: 'knex_migrations', lockTimeoutMs: 10 * 60_000 });

type Direction = 'up' | 'down';

/**
 * Knex's migrator, run under a lock that cannot get stuck, with checksums of
 * applied files and a record of which migration a crashed run left
 * unfinished. Migrations are Knex migrations; the history is Knex's table.
 *
 * What it adds: a session-scoped lock (see `MigrationLock`) held for the
 * whole run, so that concurrent runners queue and then find nothing to do,
 * and a killed one frees the lock; under it, Knex's tables are created and
 * Knex's own lock row, which a crash can leave set, is repaired.
 *
 * @example
 * ```ts
 * const db = connect(process.env.DATABASE_URL!);
 * const run = await new Migrator(db, { directory: './migrations' }).latest();
 * console.log(`batch ${run.batch}: ${run.migrations.map((m) => m.name).join(', ')}`);
 * await db.close();
 * ```
 */
export class Migrator {
  readonly #db: Database;
  readonly #source: TypeScriptMigrationSource;
  readonly #lockTimeoutMs: number;
  readonly #emit: (event: MigrationEvent) => void;
  readonly #knexTables: KnexMigrationTables;
  readonly #checksums: MigrationChecksums;
  readonly #inProgress: InProgressMigrations;

  constructor(db: Database, options: MigratorOptions = {}) {
    const table = options.tableName ?? DEFAULTS.tableName;
    this.#db = db;
    this.#source = new TypeScriptMigrationSource(options.directory ?? DEFAULTS.directory);
    this.#lockTimeoutMs = options.lockTimeoutMs ?? DEFAULTS.lockTimeoutMs;
    this.#emit = options.onEvent ?? (() => {});
    this.#knexTables = new KnexMigrationTables(table);
    this.#checksums = new MigrationChecksums(`${table}_checksums`);
    this.#inProgress = new InProgressMigrations(`${table}_in_progress`);
  }

  /** The migrations folder, absolute. */
  get directory(): string {
    return this.#source.directory;
  }

  /** Applies every pending migration as one batch. Refuses (nothing runs) if an applied file was edited or deleted. */
  latest(): Promise<MigrationRun> {
    return this.#locked(() => this.#run('up'));
  }

  /** Undoes the last batch. Refuses like `latest()`. */
  rollback(): Promise<MigrationRun> {
    return this.#locked(() => this.#run('down'));
  }

  /**
   * Every migration and its state, and the problems found. Read-only: waits
   * for no lock and creates no table; it asks whether a run holds the lock,
   * so that a migration running now is not mistaken for one a crash left.
   */
  async status(): Promise<MigrationStatus> {
    if (!this.#db.adapter.databaseExists(this.#db.knex)) {
      // A SQLite file not created yet: everything is pending, and looking must not create it.
      const files = await this.#source.getMigrations();
      return assessMigrations({ directory: this.directory, files, history: [], checksums: new Map(), inProgress: [], runningBy: undefined });
    }
    const lock = this.#lock();
    try {
      return await this.#assess(await lock.holder());
    } finally {
      await lock.release();
    }
  }

  async #assess(runningBy: string | undefined): Promise<MigrationStatus> {
    const knex = this.#db.knex;
    const [files, history, checksums, inProgress] = await Promise.all([
      this.#source.getMigrations(),
      this.#knexTables.history(knex),
      this.#checksums.read(knex),
      this.#inProgress.read(knex),
    ]);
    return assessMigrations({ directory: this.directory, files, history, checksums, inProgress, runningBy });
  }

  /**
   * Accepts the current content of applied migration files whose checksum
   * no longer matches: use it after an edit that changes nothing that was
   * applied. Returns the names whose stored checksum changed.
   */
  accept(files: readonly string[]): Promise<string[]> {
    return this.#locked(async () => {
      const knex = this.#db.knex;
      await this.#prepare();
      const current = new Map((await this.#source.getMigrations()).map((f) => [f.name, f]));
      const applied = new Set((await this.#knexTables.history(knex)).map((h) => h.name));
      const stored = await this.#checksums.read(knex);
      const changed: string[] = [];
      for (const name of files.map((f) => path.basename(f))) {
        const file = current.get(name);
        if (!file) throw new UsageError(`accept: no migration file ${name} in ${this.directory}`);
        if (!applied.has(name)) throw new UsageError(`accept: ${name} is not applied; only applied migrations have checksums`);
        if (stored.get(name) === file.checksum) continue;
        await this.#checksums.record(knex, name, file.checksum);
        changed.push(name);
      }
      return changed;
    });
  }

  /**
   * Clears what a crashed run can leave behind: Knex's lock row, and the
   * markers of interrupted migrations (check the schema first). Never waits:
   * if a run is in progress, throws `MigrationLockBusyError` and clears nothing.
   */
  unlock(): Promise<UnlockReport> {
    return this.#locked(async () => {
      const knex = this.#db.knex;
      const knexLockCleared = await this.#knexTables.repairLock(knex, this.#knexConfig());
      const interrupted = (await this.#inProgress.read(knex)).map((m) => m.name);
      await this.#inProgress.clear(knex, interrupted);
      return { knexLockCleared, interruptedCleared: interrupted };
    }, 0);
  }

  #lock(): MigrationLock {
    return this.#db.adapter.migrationLock(this.#db.knex, this.#knexTables.table);
  }

  async #locked<T>(fn: () => Promise<T>, timeoutMs = this.#lockTimeoutMs): Promise<T> {
    const lock = this.#lock();
    try {
      const acquired = await lock.acquire(timeoutMs, (holder) => {
        if (timeoutMs > 0) this.#emit({ type: 'waiting', holder });
      });
      if (!acquired) throw new MigrationLockBusyError(await lock.holder().catch(() => undefined), timeoutMs);
      return await fn();
    } finally {
      await lock.release();
    }
  }

  #knexConfig(recorder?: RunRecorder): Knex.MigratorConfigWithLifecycleHooks {
    return {
      tableName: this.#knexTables.table,
      migrationSource: this.#source,
      // Checked before anything runs, with messages that say what to do.
      disableMigrationsListValidation: true,
      ...recorder?.hooks(),
    };
  }

  /** Knex's tables (created by Knex, but here, under our lock), ours, and a sane Knex lock row. */
  async #prepare(): Promise<void> {
    const knex = this.#db.knex;
    await this.#knexTables.ensure(knex, this.#knexConfig());
    if (await this.#knexTables.repairLock(knex, this.#knexConfig())) {
      this.#emit({
        type: 'notice',
        message: `Knex's migration lock (${this.#knexTables.lockTable}) was left set by an interrupted run or a concurrent plain Knex migration; reset it (this run holds the migration lock).`,
      });
    }
    await this.#checksums.ensure(knex);
    await this.#inProgress.ensure(knex);
  }

  async #run(direction: Direction): Promise<MigrationRun> {
    await this.#prepare();
    // This run holds the lock: every marker it finds was left by another.
    const status = await this.#assess(undefined);
    await this.#settleInProgress();
    const mismatched = status.migrations.filter((m) => m.state === 'edited').map((m) => m.name);
    const missing = status.migrations.filter((m) => m.state === 'missing').map((m) => m.name);
    if (mismatched.length > 0 || missing.length > 0) throw new MigrationIntegrityError(mismatched, missing);
    for (const problem of status.problems.filter((p) => p.startsWith('interrupted'))) {
      this.#emit({ type: 'notice', message: `${problem}. Check the schema; this run goes on (\`migrate unlock\` clears the warning).` });
    }
    await this.#adoptChecksums();

    const lastBatch = Math.max(0, ...status.migrations.map((m) => m.batch ?? 0));
    const lastBatchNames = status.migrations.filter((m) => lastBatch > 0 && m.batch === lastBatch).map((m) => m.name);
    if ((direction === 'up' ? status.pending : lastBatchNames.length) === 0) return Object.freeze({ direction, batch: null, migrations: [], ms: 0 });

    const recorder = new RunRecorder(direction, this.#checksums, this.#inProgress, this.#emit);
    const migrate = this.#db.knex.migrate;
    // Taken before the run: a trigger a table rebuild removed cannot be found afterwards.
    const triggersBefore = await listVersionTriggers(this.#db);
    const started = performance.now();
    try {
      const [batch] = direction === 'up' ? await migrate.latest(this.#knexConfig(recorder)) : await migrate.rollback(this.#knexConfig(recorder));
      const ms = performance.now() - started;
      const problems = await checkTriggersAfterMigration(this.#db, triggersBefore);
      if (problems.length > 0) throw new MigrationTriggerError(Number(batch), direction, problems.map((p) => p.message));
      return Object.freeze({ direction, batch: Number(batch), migrations: Object.freeze([...recorder.finished]), ms });
    } catch (err) {
      if (err instanceof MigrationTriggerError) throw err;
      throw recorder.running === undefined ? err : await this.#failure(err, recorder.running, direction, lastBatch, lastBatchNames);
    } finally {
      // The connection may be gone after a failure; the next run settles the markers then.
      await this.#settleInProgress().catch(() => {});
    }
  }

  /** Describes a failed run from what the database now holds, not from what was attempted. */
  async #failure(err: unknown, failed: MigrationFile, direction: Direction, lastBatch: number, lastBatchNames: readonly string[]): Promise<MigrationFailedError> {
    const recorded = await this.#knexTables.history(this.#db.knex).catch(() => undefined);
    const applied =
      recorded === undefined
        ? []
        : direction === 'up'
          ? recorded.filter((h) => h.batch === lastBatch + 1).map((h) => h.name)
          : lastBatchNames.filter((n) => !recorded.some((h) => h.name === n));
    const module = await this.#source.getMigration(failed).catch(() => undefined);
    const ownTransaction = (module as { config?: { transaction?: unknown } } | undefined)?.config?.transaction !== false;
    const partialBecause = !ownTransaction
      ? `${failed.name} runs without a transaction (config.transaction = false)`
      : this.#db.adapter.supportsTransactionalDdl
        ? undefined
        : `${this.#db.dialect} commits schema changes (DDL) as they run, whatever the transaction`;
    return new MigrationFailedError({ migration: failed.name, direction, applied, partialBecause, cause: err });
  }

  /** Deletes the in-progress markers whose outcome Knex's history now confirms. */
  async #settleInProgress(): Promise<void> {
    const knex = this.#db.knex;
    const recorded = new Set((await this.#knexTables.history(knex)).map((h) => h.name));
    const settled = (await this.#inProgress.read(knex)).filter((m) => isSettled(m, recorded));
    await this.#inProgress.clear(knex, settled.map((m) => m.name));
  }

  /** Applied migrations without a checksum (applied before checksums were kept) get their file's current one. */
  async #adoptChecksums(): Promise<void> {
    const knex = this.#db.knex;
    const stored = await this.#checksums.read(knex);
    const files = new Map((await this.#source.getMigrations()).map((f) => [f.name, f]));
    const history = await this.#knexTables.history(knex);
    const adopted = history.map((h) => files.get(h.name)).filter((f): f is MigrationFile => f !== undefined && !stored.has(f.name));
    for (const f of adopted) await this.#checksums.record(knex, f.name, f.checksum);
    if (adopted.length > 0) {
      const names = adopted.map((f) => f.name).join(', ');
      this.#emit({ type: 'notice', message: `recorded checksums of ${adopted.length} migration(s) applied before checksums were kept: ${names}` });
    }
  }
}
