import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { DedicatedConnection } from '../dedicated-connection';
import type { DialectAdapter } from '../dialect-adapter';
import type { MigrationLock } from '../migration-lock';
import { MigrationRefusedError } from '../../migrations/migration-errors';

interface PgRows<T> {
  rows: T[];
}

interface Holder {
  pid: number;
  client_addr: string | null;
  backend_start: Date | string;
}

// SQLSTATE lock_not_available: the wait exceeded lock_timeout.
const LOCK_NOT_AVAILABLE = '55P03';

/** A non-negative int4, so that pg_locks (which shows the keys as unsigned oids) matches it unchanged. */
function key(text: string): number {
  return createHash('sha256').update(text).digest().readUInt32BE(0) & 0x7fffffff;
}

/**
 * `pg_advisory_lock` on a dedicated session. PostgreSQL releases a session
 * advisory lock when the session ends, including when the client is killed
 * (the backend sees the socket close), and scopes it to the current
 * database, so two databases on one server never contend.
 */
export class PostgresMigrationLock implements MigrationLock {
  readonly #connection: DedicatedConnection;
  // Two-key form: a namespace for this library, so that an application's own
  // advisory locks cannot collide with ours, and the lock name.
  readonly #keys: [number, number];
  #held = false;

  constructor(knex: Knex, name: string, adapter: DialectAdapter) {
    this.#connection = new DedicatedConnection(knex, adapter);
    this.#keys = [key('knex-concurrency:migrate'), key(name)];
  }

  async acquire(timeoutMs: number, onWait: (holder: string | undefined) => void): Promise<boolean> {
    // A replica takes the advisory lock, then fails at the first DDL (25006):
    // say so before anything is tried.
    const recovery = await this.#connection.raw<PgRows<{ replica: boolean }>>('SELECT pg_is_in_recovery() AS replica');
    if (recovery.rows[0].replica) {
      throw new MigrationRefusedError(
        'this PostgreSQL server is a replica (a standby in recovery), which is read-only: every write there fails with SQLSTATE 25006. Run migrations against the primary',
      );
    }
    const tried = await this.#connection.raw<PgRows<{ ok: boolean }>>('SELECT pg_try_advisory_lock(?, ?) AS ok', this.#keys);
    if (!tried.rows[0].ok) {
      onWait(await this.holder());
      if (timeoutMs <= 0) return false;
      // lock_timeout bounds waits for advisory locks too; 0 would mean "forever".
      await this.#connection.raw("SELECT set_config('lock_timeout', ?, false)", [`${Math.max(1, Math.ceil(timeoutMs))}ms`]);
      try {
        await this.#connection.raw('SELECT pg_advisory_lock(?, ?)', this.#keys);
      } catch (err) {
        if ((err as { code?: string }).code === LOCK_NOT_AVAILABLE) return false;
        throw err;
      } finally {
        await this.#connection.raw("SELECT set_config('lock_timeout', '0', false)");
      }
    }
    this.#held = true;
    return true;
  }

  async holder(): Promise<string | undefined> {
    const found = await this.#connection.raw<PgRows<Holder>>(
      `SELECT a.pid, a.client_addr, a.backend_start
         FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
          AND l.classid = ?::oid AND l.objid = ?::oid
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      this.#keys,
    );
    const h = found.rows[0];
    if (h === undefined) return undefined;
    const since = h.backend_start instanceof Date ? h.backend_start.toISOString() : String(h.backend_start);
    return `PostgreSQL server process ${h.pid} (client ${h.client_addr ?? 'on a local socket'}, connected since ${since})`;
  }

  async release(): Promise<void> {
    try {
      if (this.#held) await this.#connection.raw('SELECT pg_advisory_unlock(?, ?)', this.#keys);
    } finally {
      this.#held = false;
      await this.#connection.close();
    }
  }
}
