import { randomBytes } from 'node:crypto';
import * as os from 'node:os';
import { MigrationError, MigrationRefusedError } from '../../migrations/migration-errors';
import type { DedicatedConnection } from '../dedicated-connection';
import type { MigrationLock } from '../migration-lock';

// mysql2 answers a raw query with [rows, fields]; a write with [header, undefined].
type Rows<T> = [T[], unknown];
type Written = [{ affectedRows: number }, unknown];

interface LockRow {
  holder: string;
  token: string;
  beat: number | string;
  lease_ms: number;
}

/** How long a holder's lease lasts without a renewal, and how often it renews. */
const LEASE_MS = 30_000;
const POLL_MS = 250;

// The writes of two nodes that race for the row: the loser is refused when
// the cluster certifies it (1213, or 1062 once its node has applied the
// winner's INSERT).
const LOST_RACE = new Set([1062, 1213]);
const NO_SUCH_TABLE = 1146;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The migration lock on a MariaDB Galera cluster, where `GET_LOCK()` holds on
 * one node only (and recent releases refuse it, error 1235): a row in
 * `<name>_cluster_lock`, whose INSERT the cluster certifies, so that of two
 * runners on two nodes exactly one gets it. The holder renews its lease every
 * few seconds by bumping the row's `beat`; a runner that finds the row waits,
 * and takes it over only when `beat` has not moved for a whole lease by its
 * own clock (no clock is compared across machines), with a compare-and-swap
 * on the token and beat it saw, as `save()` does on a version. Reads of the
 * row wait until this node has applied every write committed before them
 * (`wsrep_sync_wait`), so a renewal is never missed because of lag.
 *
 * A runner that stops renewing for a whole lease (killed, frozen, cut off
 * from the cluster) loses the lock; one cut off cannot write anyway, since a
 * node outside the primary component refuses every statement.
 *
 * Before taking the lock it refuses to run where schema changes would not
 * reach every node the same way (see `#refuseUnsafeDdl`).
 */
export class GaleraMigrationLock implements MigrationLock {
  readonly #connection: DedicatedConnection;
  readonly #table: string;
  readonly #token = randomBytes(16).toString('hex');
  #renewal: NodeJS.Timeout | undefined;
  #held = false;
  #ready = false;
  /** A renewal found the lease taken over by another runner. */
  #lost = false;

  constructor(connection: DedicatedConnection, name: string) {
    this.#connection = connection;
    this.#table = `\`${`${name}_cluster_lock`.replace(/`/g, '``')}\``;
  }

  async acquire(timeoutMs: number, onWait: (holder: string | undefined) => void): Promise<boolean> {
    // First: the lock table's own CREATE must not run where DDL is unsafe.
    await this.#refuseUnsafeDdl();
    await this.#prepare();
    const deadline = performance.now() + Math.max(0, timeoutMs);
    let seen: { token: string; beat: string; since: number } | undefined;
    let told = false;
    for (;;) {
      if (await this.#tryInsert()) return this.#took();
      const row = await this.#row();
      if (row !== undefined) {
        const beat = String(row.beat);
        const now = performance.now();
        if (seen === undefined || seen.token !== row.token || seen.beat !== beat) seen = { token: row.token, beat, since: now };
        else if (now - seen.since >= row.lease_ms && (await this.#takeOver(row.token, beat))) return this.#took();
        if (!told) {
          told = true;
          onWait(describe(row));
        }
      }
      if (performance.now() >= deadline) return false;
      await sleep(POLL_MS);
    }
  }

  // Read-only (`migrate status` asks it): a missing table means nobody ever held the lock.
  async holder(): Promise<string | undefined> {
    await this.#connection.raw('SET SESSION wsrep_sync_wait = 1');
    const row = await this.#row().catch((err: { errno?: number }) => {
      if (err.errno === NO_SUCH_TABLE) return undefined;
      throw err;
    });
    return row === undefined ? undefined : describe(row);
  }

  /**
   * Gives the lease back (only if it is still ours). Throws when a renewal
   * found it taken over: this run went on without the lock for a while, so
   * another may have run migrations at the same time; that must not pass
   * for a clean run.
   */
  async release(): Promise<void> {
    clearInterval(this.#renewal);
    this.#renewal = undefined;
    try {
      if (this.#held) await this.#connection.raw(`DELETE FROM ${this.#table} WHERE id = 1 AND token = ?`, [this.#token]);
    } finally {
      this.#held = false;
      await this.#connection.close();
    }
    if (this.#lost) {
      throw new MigrationError(
        'this run lost its Galera migration lease: it was not renewed for a whole lease (the process was stalled, or its node cut off) and another runner took it over, ' +
          'so migrations may have run concurrently. Check `migrate status` and the schema before running again.',
      );
    }
  }

  /** The lock table (DDL is applied on every node in the same order), and reads that see the latest commit. */
  async #prepare(): Promise<void> {
    if (this.#ready) return;
    await this.#connection.raw('SET SESSION wsrep_sync_wait = 1');
    await this.#connection.raw(
      `CREATE TABLE IF NOT EXISTS ${this.#table} (id INT NOT NULL PRIMARY KEY, holder VARCHAR(255) NOT NULL, token CHAR(32) NOT NULL, beat BIGINT NOT NULL, lease_ms INT NOT NULL) ENGINE=InnoDB`,
    );
    this.#ready = true;
  }

  /**
   * Refuses a node where a migration's DDL would not reach the whole cluster
   * the same way: one outside the primary component or not synced (it could
   * be behind, or refuse writes), Rolling Schema Upgrade (`wsrep_OSU_method =
   * RSU`: DDL changes this node only), and tables created without an engine
   * landing in a non-InnoDB one (Galera replicates only InnoDB rows).
   */
  async #refuseUnsafeDdl(): Promise<void> {
    const [status] = await this.#connection.raw<Rows<{ Variable_name: string; Value: string }>>(
      "SHOW STATUS WHERE Variable_name IN ('wsrep_ready', 'wsrep_cluster_status', 'wsrep_local_state_comment')",
    );
    const s = Object.fromEntries(status.map((r) => [r.Variable_name.toLowerCase(), r.Value]));
    const [[v]] = await this.#connection.raw<Rows<{ osu: string; engine: string }>>('SELECT @@SESSION.wsrep_OSU_method AS osu, @@default_storage_engine AS engine');
    const node = 'this Galera node';
    if (s.wsrep_ready !== 'ON' || s.wsrep_cluster_status !== 'Primary') {
      throw new MigrationRefusedError(`${node} is not part of the cluster's primary component (wsrep_ready ${s.wsrep_ready}, cluster status ${s.wsrep_cluster_status}): it cannot apply schema changes; run on a node of the primary component`);
    }
    if (s.wsrep_local_state_comment !== 'Synced') {
      throw new MigrationRefusedError(`${node} is ${s.wsrep_local_state_comment}, not Synced (it may be behind the cluster or serving a state transfer); run when it is Synced, or on another node`);
    }
    if (String(v!.osu).toUpperCase() !== 'TOI') {
      throw new MigrationRefusedError(`${node} applies DDL with wsrep_OSU_method = ${v!.osu}, which changes this node only; migrations need TOI (Total Order Isolation), which applies each change on every node in the same order`);
    }
    if (String(v!.engine).toLowerCase() !== 'innodb') {
      throw new MigrationRefusedError(`${node} creates tables with ${v!.engine} by default, whose rows Galera does not replicate; set default_storage_engine = InnoDB`);
    }
  }

  async #tryInsert(): Promise<boolean> {
    return this.#won(async () => {
      await this.#connection.raw(`INSERT INTO ${this.#table} (id, holder, token, beat, lease_ms) VALUES (1, ?, ?, 0, ?)`, [holderName(), this.#token, LEASE_MS]);
      return true;
    });
  }

  /** Takes over a lease that was not renewed for a whole lease: only if nobody renewed or took it since. */
  async #takeOver(token: string, beat: string): Promise<boolean> {
    return this.#won(async () => {
      const [r] = await this.#connection.raw<Written>(
        `UPDATE ${this.#table} SET holder = ?, token = ?, beat = 0, lease_ms = ? WHERE id = 1 AND token = ? AND beat = ?`,
        [holderName(), this.#token, LEASE_MS, token, beat],
      );
      return r.affectedRows === 1;
    });
  }

  /** Runs one write of the race for the row: whether it committed (certified by the cluster) and changed the row. */
  async #won(write: () => Promise<boolean>): Promise<boolean> {
    try {
      return await write();
    } catch (err) {
      if (LOST_RACE.has((err as { errno?: number }).errno ?? 0)) return false;
      throw err;
    }
  }

  #took(): true {
    this.#held = true;
    // A failed renewal is tried again at the next tick; the lease outlasts a few.
    this.#renewal = setInterval(() => {
      this.#connection
        .raw<Written>(`UPDATE ${this.#table} SET beat = beat + 1 WHERE id = 1 AND token = ?`, [this.#token])
        .then(([r]) => {
          if (r.affectedRows === 0) this.#lost = true;
        })
        .catch(() => undefined);
    }, LEASE_MS / 6);
    this.#renewal.unref();
    return true;
  }

  async #row(): Promise<LockRow | undefined> {
    const [rows] = await this.#connection.raw<Rows<LockRow>>(`SELECT holder, token, beat, lease_ms FROM ${this.#table} WHERE id = 1`);
    return rows[0];
  }
}

function holderName(): string {
  return `${os.hostname()} pid ${process.pid}`.slice(0, 255);
}

function describe(row: LockRow): string {
  return `${row.holder} (a Galera lease of ${row.lease_ms / 1000} s, taken over if not renewed for that long)`;
}
