import * as fs from 'node:fs';
import type { Database as SqliteDatabase } from 'sqlite3';
import type { MigrationLock } from '../migration-lock';

const SQLITE_BUSY = 'SQLITE_BUSY';

/**
 * An exclusive transaction on a lock file beside the database
 * (`app.db-migrate-lock`), held on a connection of its own.
 *
 * Why a separate file: SQLite has no advisory locks, and an exclusive (or
 * immediate) transaction on the database itself would lock out the
 * migrator's own connections. SQLite's transaction locks are POSIX file
 * locks, which the operating system drops when the holding process exits,
 * however it exits, so a `kill -9` cannot leave this lock held; a lock row
 * or a pid file could. The file stays after the run: deleting a lock file
 * while another process waits on it would let a third process lock a new
 * file and run alongside. The file holds no data; deleting it between runs
 * is harmless.
 */
export class SqliteMigrationLock implements MigrationLock {
  /** The lock file for a database file. */
  static pathFor(filename: string): string {
    return `${filename}-migrate-lock`;
  }

  readonly path: string;
  #db: SqliteDatabase | undefined;

  constructor(filename: string) {
    this.path = SqliteMigrationLock.pathFor(filename);
  }

  async acquire(timeoutMs: number, onWait: (holder: string | undefined) => void): Promise<boolean> {
    const db = await this.#open();
    if (!(await tryExclusive(db, 0))) {
      onWait(this.#description());
      if (timeoutMs <= 0 || !(await tryExclusive(db, timeoutMs))) {
        await close(db);
        return false;
      }
    }
    this.#db = db;
    return true;
  }

  async holder(): Promise<string | undefined> {
    if (this.#db !== undefined) return this.#description();
    // Nobody can hold a lock file that does not exist; asking must not create it.
    if (!fs.existsSync(this.path)) return undefined;
    const probe = await this.#open();
    try {
      if (!(await tryExclusive(probe, 0))) return this.#description();
      await exec(probe, 'ROLLBACK');
      return undefined;
    } finally {
      await close(probe);
    }
  }

  async release(): Promise<void> {
    const db = this.#db;
    this.#db = undefined;
    if (db === undefined) return;
    try {
      await exec(db, 'ROLLBACK');
    } finally {
      await close(db);
    }
  }

  #description(): string {
    return `another process (it holds ${this.path})`;
  }

  async #open(): Promise<SqliteDatabase> {
    // Loaded here so that PostgreSQL and MySQL users never load the native module.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const sqlite3: typeof import('sqlite3') = require('sqlite3');
    return new Promise((resolve, reject) => {
      const db: SqliteDatabase = new sqlite3.Database(this.path, (err) => (err ? reject(err) : resolve(db)));
    });
  }
}

/** `BEGIN EXCLUSIVE`, waiting up to `timeoutMs` (SQLite's busy handler); false when still busy. */
async function tryExclusive(db: SqliteDatabase, timeoutMs: number): Promise<boolean> {
  db.configure('busyTimeout', Math.min(timeoutMs, 2 ** 31 - 1));
  try {
    await exec(db, 'BEGIN EXCLUSIVE');
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === SQLITE_BUSY) return false;
    throw err;
  }
}

function exec(db: SqliteDatabase, sql: string): Promise<void> {
  return new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve())));
}

function close(db: SqliteDatabase): Promise<void> {
  return new Promise((resolve, reject) => db.close((err) => (err ? reject(err) : resolve())));
}
