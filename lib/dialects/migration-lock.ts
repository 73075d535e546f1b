/**
 * A lock that serialises migration runs across processes and machines, held
 * on a connection of its own for the whole run.
 *
 * Every implementation is session-scoped: the database server (or, for
 * SQLite, the operating system) releases it when the holder's connection or
 * process dies, so a `kill -9` can never leave it held. That is what Knex's
 * own lock row cannot promise, which is why this one wraps it.
 */
export interface MigrationLock {
  /**
   * Takes the lock. If another runner holds it, calls `onWait` once with a
   * description of the holder (when the database can tell), then waits up
   * to `timeoutMs`. Resolves `false` when the wait timed out.
   */
  acquire(timeoutMs: number, onWait: (holder: string | undefined) => void): Promise<boolean>;
  /** A description of the runner holding the lock now, `undefined` when it is free. */
  holder(): Promise<string | undefined>;
  /** Releases the lock (if held) and closes the lock's connection. Safe to call twice. */
  release(): Promise<void>;
}

/** For databases no other process can reach (SQLite `:memory:`): there is nothing to exclude. */
export class NoMigrationLock implements MigrationLock {
  async acquire(): Promise<boolean> {
    return true;
  }

  async holder(): Promise<string | undefined> {
    return undefined;
  }

  async release(): Promise<void> {}
}
