import type { InProgressMigration } from './in-progress-migrations';
import { isSettled } from './in-progress-migrations';
import type { MigrationFile } from './typescript-migration-source';

/**
 * - `applied`: recorded in the history, file unchanged;
 * - `pending`: not applied yet;
 * - `edited`: applied, but the file changed since (checksum mismatch);
 * - `missing`: applied, but the file is gone;
 * - `interrupted`: a run started it (or its rollback) and died or failed
 *   without recording the outcome; its changes may be partly applied;
 * - `running`: the run that holds the migration lock is running it now
 *   (visible only where the migration's changes commit as they go).
 */
export type MigrationState = 'applied' | 'pending' | 'edited' | 'missing' | 'interrupted' | 'running';

/** One migration as `status` sees it. */
export interface MigrationStatusEntry {
  readonly name: string;
  readonly state: MigrationState;
  /** Batch that applied it; `null` when not applied. */
  readonly batch: number | null;
  readonly appliedAt: Date | null;
  /** What is wrong, for the states that are problems. */
  readonly problem: string | null;
}

/** Every migration, in order, with totals and the problems found. */
export interface MigrationStatus {
  /** The migrations folder, absolute. */
  readonly directory: string;
  readonly migrations: readonly MigrationStatusEntry[];
  readonly applied: number;
  readonly pending: number;
  /** One line per problem (`checksum mismatch: <file>`...); empty when all is well. */
  readonly problems: readonly string[];
  /** The run holding the migration lock while the status was read, if any. */
  readonly runningBy: string | undefined;
}

/** A row of Knex's history table. */
export interface HistoryRow {
  readonly name: string;
  readonly batch: number;
  readonly appliedAt: Date | null;
}

function interruption(m: InProgressMigration): string {
  const what = m.direction === 'up' ? 'applying' : 'rolling back';
  const may = m.direction === 'up' ? 'partially applied' : 'partially undone';
  return `interrupted: ${what} ${m.name} (started ${m.startedAt.toISOString()} by ${m.runner}) did not complete (it failed, or its process died); it may be ${may}`;
}

/** Compares the files with the history, the checksums and the in-progress markers. */
export function assessMigrations(input: {
  directory: string;
  files: readonly MigrationFile[];
  history: readonly HistoryRow[];
  checksums: ReadonlyMap<string, string>;
  inProgress: readonly InProgressMigration[];
  /** A run that holds the lock now: its markers are live, not left by a crash. */
  runningBy?: string;
}): MigrationStatus {
  const recorded = new Map(input.history.map((h) => [h.name, h]));
  const files = new Map(input.files.map((f) => [f.name, f]));
  const unsettled = new Map(input.inProgress.filter((m) => !isSettled(m, new Set(recorded.keys()))).map((m) => [m.name, m]));
  const names = [...new Set([...files.keys(), ...recorded.keys(), ...unsettled.keys()])].sort();
  const problems: string[] = [];
  const migrations = names.map((name): MigrationStatusEntry => {
    const file = files.get(name);
    const row = recorded.get(name);
    const marker = unsettled.get(name);
    const known = input.checksums.get(name);
    let state: MigrationState = row ? 'applied' : 'pending';
    const issues: string[] = [];
    if (row && !file) {
      state = 'missing';
      issues.push(`missing migration file: ${name}`);
    } else if (row && file && known !== undefined && known !== file.checksum) {
      state = 'edited';
      issues.push(`checksum mismatch: ${name}`);
    }
    if (marker && input.runningBy !== undefined) {
      if (state === 'applied' || state === 'pending') state = 'running';
    } else if (marker) {
      if (state === 'applied' || state === 'pending') state = 'interrupted';
      issues.push(interruption(marker));
    }
    problems.push(...issues);
    return Object.freeze({ name, state, batch: row?.batch ?? null, appliedAt: row?.appliedAt ?? null, problem: issues.join('; ') || null });
  });
  return Object.freeze({
    directory: input.directory,
    migrations: Object.freeze(migrations),
    applied: input.history.length,
    pending: migrations.filter((m) => m.batch === null).length,
    problems: Object.freeze(problems),
    runningBy: input.runningBy,
  });
}
