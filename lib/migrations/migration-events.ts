/**
 * What a migration run reports while it runs, for a progress display:
 *
 * - `waiting`: another run holds the lock; this one waits for it;
 * - `notice`: something the operator should know (an interrupted migration
 *   found, a stale Knex lock cleared, checksums recorded for the first time);
 * - `start` / `done`: one migration, with its duration. `done` means the
 *   migration's function returned; in a batch that runs in one transaction,
 *   it is committed only when the whole run succeeds.
 */
export type MigrationEvent =
  | { readonly type: 'waiting'; readonly holder: string | undefined }
  | { readonly type: 'notice'; readonly message: string }
  | { readonly type: 'start'; readonly name: string; readonly direction: 'up' | 'down' }
  | { readonly type: 'done'; readonly name: string; readonly direction: 'up' | 'down'; readonly ms: number };

/** The outcome of `latest()` or `rollback()`. */
export interface MigrationRun {
  readonly direction: 'up' | 'down';
  /** The batch applied or rolled back; `null` when there was nothing to do. */
  readonly batch: number | null;
  /** The migrations run, in order, with how long each took. */
  readonly migrations: readonly { readonly name: string; readonly ms: number }[];
  /** The whole run, lock wait excluded. */
  readonly ms: number;
}

/** What `unlock()` found and cleared. */
export interface UnlockReport {
  /** Knex's own lock row was set (or duplicated) and was reset. */
  readonly knexLockCleared: boolean;
  /** Interrupted-migration markers that were cleared (see `MigrationStatus`). */
  readonly interruptedCleared: readonly string[];
}

/** Options of `Migrator` and `migrate()`. */
export interface MigratorOptions {
  /** The migrations folder; default `./migrations`, relative to the working directory. */
  readonly directory?: string;
  /** Knex's history table; default `knex_migrations`. The other tables are named after it (`_lock`, `_checksums`, `_in_progress`). */
  readonly tableName?: string;
  /** How long to wait for another run to release the lock; default 10 minutes. 0 fails at once. */
  readonly lockTimeoutMs?: number;
  /** Progress and notices as they happen. */
  readonly onEvent?: (event: MigrationEvent) => void;
}
