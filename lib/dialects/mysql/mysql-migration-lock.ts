import { createHash } from 'node:crypto';
import type { Knex } from 'knex';
import { DedicatedConnection } from '../dedicated-connection';
import type { DialectAdapter } from '../dialect-adapter';
import type { MigrationLock } from '../migration-lock';
import { GaleraMigrationLock } from './galera-migration-lock';

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
 *
 * A named lock belongs to one server: on a node of a Galera cluster it
 * excludes nobody on the other nodes (and recent MariaDB releases refuse it
 * there, error 1235). So the lock first asks the server whether it is one,
 * and there hands over to `GaleraMigrationLock`, a lease row the cluster
 * certifies.
 */
export class MysqlMigrationLock implements MigrationLock {
  readonly #connection: DedicatedConnection;
  readonly #name: string;
  #lockName: string | undefined;
  #held = false;
  #cluster: Promise<GaleraMigrationLock | undefined> | undefined;

  constructor(knex: Knex, name: string, adapter: DialectAdapter) {
    this.#connection = new DedicatedConnection(knex, adapter);
    this.#name = name;
  }

  /** The cluster's lock when the server is a Galera node (replicating: `wsrep_on` with a provider), else `undefined`. */
  #galera(): Promise<GaleraMigrationLock | undefined> {
    this.#cluster ??= this.#connection
      .raw<Rows<{ Variable_name: string; Value: string }>>("SHOW VARIABLES WHERE Variable_name IN ('wsrep_on', 'wsrep_provider')")
      .then(([rows]) => {
        const v = Object.fromEntries(rows.map((r) => [r.Variable_name.toLowerCase(), r.Value]));
        const replicating = v.wsrep_on === 'ON' && v.wsrep_provider !== undefined && v.wsrep_provider !== 'none';
        return replicating ? new GaleraMigrationLock(this.#connection, this.#name) : undefined;
      });
    return this.#cluster;
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
    const galera = await this.#galera();
    if (galera !== undefined) return galera.acquire(timeoutMs, onWait);
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
    const galera = await this.#galera();
    if (galera !== undefined) return galera.holder();
    const [used] = await this.#connection.raw<Rows<{ id: number | null }>>('SELECT IS_USED_LOCK(?) AS id', [await this.#lock()]);
    const id = used[0].id;
    if (id === null) return undefined;
    // Without the PROCESS privilege only our own user's sessions are listed.
    const [procs] = await this.#connection.raw<Rows<Process>>('SELECT USER, HOST FROM information_schema.PROCESSLIST WHERE ID = ?', [id]);
    const p = procs[0];
    return p === undefined ? `MySQL connection ${id}` : `MySQL connection ${id} (${p.USER}@${p.HOST})`;
  }

  async release(): Promise<void> {
    const galera = await this.#cluster?.catch(() => undefined);
    if (galera !== undefined) return galera.release();
    try {
      if (this.#held) await this.#connection.raw('SELECT RELEASE_LOCK(?)', [await this.#lock()]);
    } finally {
      this.#held = false;
      await this.#connection.close();
    }
  }
}
