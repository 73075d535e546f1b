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
