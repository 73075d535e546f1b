import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { DedicatedConnection } from '../dedicated-connection';
import type { DialectAdapter } from '../dialect-adapter';
import type { MigrationLock } from '../migration-lock';

// mysql2 answers a raw query with [rows, fields].
type Rows<T> = [T[], unknown];

interface Process {
  USER: string;
  HOST: string;
}

/**
 * `GET_LOCK` on a dedicated session. MySQL and MariaDB release named locks
 * when the session ends, including when the client is killed. The names are
 * server-wide, not per database, so the name includes the database; MySQL
 * caps them at 64 characters, so it is hashed.
 */
export class MysqlMigrationLock implements MigrationLock {
  readonly #connection: DedicatedConnection;
  readonly #name: string;
  #lockName: string | undefined;
  #held = false;

  constructor(knex: Knex, name: string, adapter: DialectAdapter) {
    this.#connection = new DedicatedConnection(knex, adapter);
    this.#name = name;
  }

  async #lock(): Promise<string> {
    if (this.#lockName === undefined) {
      const [rows] = await this.#connection.raw<Rows<{ db: string | null }>>('SELECT DATABASE() AS db');
      const digest = createHash('sha256').update(`${rows[0].db ?? ''}.${this.#name}`).digest('hex');
      this.#lockName = `knex-concurrency:migrate:${digest.slice(0, 32)}`;
    }
    return this.#lockName;
  }

  async acquire(timeoutMs: number, onWait: (holder: string | undefined) => void): Promise<boolean> {
    const lock = await this.#lock();
    if (!(await this.#getLock(lock, 0))) {
      onWait(await this.holder());
      if (timeoutMs <= 0 || !(await this.#getLock(lock, Math.max(1, Math.ceil(timeoutMs / 1000))))) return false;
    }
    this.#held = true;
    return true;
  }

  async #getLock(lock: string, seconds: number): Promise<boolean> {
    const [rows] = await this.#connection.raw<Rows<{ ok: number | null }>>('SELECT GET_LOCK(?, ?) AS ok', [lock, seconds]);
    // NULL means the server failed to take the lock (killed thread, out of memory), not a timeout.
    if (rows[0].ok === null) throw new Error(`GET_LOCK('${lock}') failed`);
    return rows[0].ok === 1;
  }

  async holder(): Promise<string | undefined> {
    const [used] = await this.#connection.raw<Rows<{ id: number | null }>>('SELECT IS_USED_LOCK(?) AS id', [await this.#lock()]);
    const id = used[0].id;
    if (id === null) return undefined;
    // Without the PROCESS privilege only our own user's sessions are listed.
    const [procs] = await this.#connection.raw<Rows<Process>>('SELECT USER, HOST FROM information_schema.PROCESSLIST WHERE ID = ?', [id]);
    const p = procs[0];
    return p === undefined ? `MySQL connection ${id}` : `MySQL connection ${id} (${p.USER}@${p.HOST})`;
  }

  async release(): Promise<void> {
    try {
      if (this.#held) await this.#connection.raw('SELECT RELEASE_LOCK(?)', [await this.#lock()]);
    } finally {
      this.#held = false;
      await this.#connection.close();
    }
  }
}
