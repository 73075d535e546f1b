import { UsageError } from '../errors';
import { MigrationIntegrityError, MigrationLockBusyError } from '../migrations/migration-errors';

/** `bin/migrate`'s exit codes; documented in its `--help` and in README.md (Migrations). */
export const ExitCode = Object.freeze({
  /** Done (including "nothing to do"), or `status` found no problem. */
  OK: 0,
  /** A migration failed, or the database could not be reached. */
  FAILED: 1,
  /** Bad command line, no database URL, no migrations folder. */
  USAGE: 2,
  /** An applied migration file was edited or deleted, or (`status`) a migration was interrupted. Nothing ran. */
  INTEGRITY: 3,
  /** Another run holds the migration lock (past `--lock-timeout`; at once for `unlock`). Nothing ran. */
  LOCKED: 4,
});

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** The exit code for an error a command ends with. */
export function exitCodeFor(err: unknown): ExitCode {
  if (err instanceof UsageError) return ExitCode.USAGE;
  if (err instanceof MigrationIntegrityError) return ExitCode.INTEGRITY;
  if (err instanceof MigrationLockBusyError) return ExitCode.LOCKED;
  return ExitCode.FAILED;
}

/** The message an error a command ends with prints as; a refused connection can arrive as an AggregateError with an empty message. */
export function errorMessage(err: unknown): string {
  return (err instanceof Error && err.message) || (err as { code?: string } | null)?.code || String(err);
}
