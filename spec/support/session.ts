import knexFactory, { Knex } from 'knex';
import { connect, Database } from '../../lib';
import type { DialectContext } from './for-each-dialect';
import { createProductTable, productModel, ProductClass, VersionKind } from './models';

/**
 * One scripted participant of an interleaving: its own pool of exactly one
 * connection (so "the connection" is well defined: its id, its open
 * transaction, whether it still works), short lock timeouts, and its own
 * `Product` class bound to it.
 */
export interface Session {
  readonly db: Database;
  readonly Product: ProductClass;
  /** The server's id for the connection (PostgreSQL backend pid, MySQL CONNECTION_ID()); `undefined` on SQLite. */
  connectionId(): Promise<number | undefined>;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** How long a statement waits for another transaction's lock before failing (default 5000 ms, well inside a test). */
  lockTimeoutMs?: number;
  /** Build the Knex instance here and pass it to `connect()`, as a user would. */
  userKnex?: boolean;
  /**
   * A transaction that read first keeps its snapshot. MariaDB:
   * `innodb_snapshot_isolation = ON` (the default from 11.6). SQLite, with
   * `userKnex`: a client class of the user's whose transactions begin
   * deferred (`BEGIN DEFERRED`, which the library keeps), so one that read
   * before another connection committed cannot write afterwards.
   */
  snapshotIsolation?: boolean;
  /** SQLite: a file of its own instead of the suite's (a user's file keeps the rollback journal). */
  sqliteFile?: string;
}

type Done = (err: Error | null, conn: unknown) => void;

/* eslint-disable @typescript-eslint/no-require-imports */
const KnexSqliteClient: new (...args: unknown[]) => object = require('knex/lib/dialects/sqlite3');
const KnexSqliteTransaction: new (...args: unknown[]) => { query(conn: unknown, sql: string): Promise<unknown> } = require('knex/lib/dialects/sqlite3/execution/sqlite-transaction');

/** A sqlite3 client class of a user's own whose transactions begin deferred. */
class DeferredSqliteClient extends KnexSqliteClient {
  transaction(...args: unknown[]): unknown {
    return new DeferredTransaction(this, ...args);
  }
}

class DeferredTransaction extends KnexSqliteTransaction {
  begin(conn: unknown): Promise<unknown> {
    return this.query(conn, 'BEGIN DEFERRED;');
  }
}

/** The session statements that set a lock timeout (and the snapshot mode), per dialect. */
function sessionSetup(d: DialectContext, o: SessionOptions): (conn: unknown, done: Done) => void {
  const ms = o.lockTimeoutMs ?? 5000;
  return d.pick<(conn: unknown, done: Done) => void>({
    sqlite: (conn, done) => {
      (conn as { configure(o: 'busyTimeout', ms: number): void }).configure('busyTimeout', ms);
      done(null, conn);
    },
    postgres: (conn, done) => (conn as { query(sql: string, cb: (e: Error | null) => void): void }).query(`SET lock_timeout = ${ms}`, (e) => done(e, conn)),
    // innodb_lock_wait_timeout counts whole seconds, 1 at least.
    mysql: (conn, done) => {
      const sets = [`innodb_lock_wait_timeout = ${Math.max(1, Math.round(ms / 1000))}`];
      if (o.snapshotIsolation) sets.push('innodb_snapshot_isolation = ON');
      (conn as { query(sql: string, cb: (e: Error | null) => void): void }).query(`SET SESSION ${sets.join(', ')}`, (e) => done(e, conn));
    },
  });
}

// Knex warns when its pool discards a connection that died; the specs kill
// connections on purpose, so that expected warning is left out of the report.
const log = {
  warn(message: unknown): void {
    if (!String(message).startsWith('Connection Error:')) console.warn(message);
  },
};

/** A Knex config for `d`'s database (or `o.sqliteFile`) with a pool of one connection. */
export function sessionConfig(d: DialectContext, o: SessionOptions = {}): Knex.Config {
  const pool = { min: 0, max: 1, afterCreate: sessionSetup(d, o) };
  if (d.name === 'sqlite') {
    const client = o.snapshotIsolation ? DeferredSqliteClient : 'sqlite3';
    return { client, connection: { filename: o.sqliteFile ?? d.url.replace(/^sqlite:/, '') }, useNullAsDefault: true, pool, log } as Knex.Config;
  }
  if (d.name === 'postgres') return { client: 'pg', connection: d.url, pool, log };
  const u = new URL(d.url);
  const connection = { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), database: u.pathname.slice(1), charset: 'utf8mb4', timezone: 'Z' };
  return { client: 'mysql2', connection, pool, log };
}

/** Opens a session on `table` with `kind` versions. Close it in `afterEach`. */
export function openSession(d: DialectContext, table: string, kind: VersionKind, o: SessionOptions = {}): Session {
  let db: Database;
  let own: Knex | undefined;
  const config = sessionConfig(d, o);
  if (o.userKnex) {
    own = knexFactory(config);
    db = connect(own);
  } else if (d.name === 'sqlite') {
    // Through a URL, as the library's own SQLite client (BEGIN IMMEDIATE, WAL).
    db = connect(`sqlite:${o.sqliteFile ?? d.url.replace(/^sqlite:/, '')}?busyTimeout=${o.lockTimeoutMs ?? 5000}&pool=1`);
  } else {
    db = connect(config);
  }
  const Product = productModel(db, table, kind);
  return {
    db,
    Product,
    async connectionId() {
      const sql = d.pick({ sqlite: null, postgres: 'SELECT pg_backend_pid() AS id', mysql: 'SELECT CONNECTION_ID() AS id' });
      if (sql === null) return undefined;
      return Number(firstRow(d, await db.knex.raw(sql)).id);
    },
    async close() {
      await db.close();
      await own?.destroy();
    },
  };
}

/** The first row of a `knex.raw()` result, whatever the driver's shape. */
export function firstRow(d: DialectContext, result: unknown): Record<string, unknown> {
  const rows = d.pick({
    sqlite: result as Record<string, unknown>[],
    postgres: (result as { rows: Record<string, unknown>[] }).rows,
    mysql: (result as [Record<string, unknown>[]])[0],
  });
  return rows[0] ?? {};
}

/**
 * Resolves once the connection `id` is waiting for a lock, as the server
 * reports it. SQLite cannot tell (its waiter sleeps in a busy handler): it
 * resolves at once, and each script's outcome is the same whether or not the
 * waiter was already asleep.
 */
export async function waitingForLock(d: DialectContext, id: number | undefined, limitMs = 8000): Promise<void> {
  const sql = d.pick({
    sqlite: null,
    postgres: "SELECT count(*) AS n FROM pg_stat_activity WHERE pid = ? AND wait_event_type = 'Lock'",
    mysql: "SELECT count(*) AS n FROM information_schema.innodb_trx WHERE trx_mysql_thread_id = ? AND trx_state = 'LOCK WAIT'",
  });
  // SQLite: give the waiter a moment to reach its busy handler.
  if (sql === null) return new Promise((resolve) => setTimeout(resolve, 50));
  const until = Date.now() + limitMs;
  while (Date.now() < until) {
    if (Number(firstRow(d, await d.knex.raw(sql, [id!])).n) > 0) return;
    // InnoDB refreshes its INNODB_TRX snapshot only when nobody read it in the
    // last 100 ms: polling faster would freeze it.
    await new Promise((resolve) => setTimeout(resolve, d.pick({ sqlite: 0, postgres: 20, mysql: 150 })));
  }
  throw new Error(`connection ${id} never waited for a lock`);
}

/** A promise's outcome as a value, so a script can start a call, do other things, then look at how it ended. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  return p.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** A gate a script opens once; `opened` resolves then. */
export function gate(): { open: () => void; opened: Promise<void> } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

/**
 * For a suite of scripts on `table`: recreates the table before each test,
 * closes the test's sessions after it, and returns the session factory.
 */
export function useSessions(d: DialectContext, table: string, kind: VersionKind): (o?: SessionOptions & { kind?: VersionKind }) => Session {
  const open: Session[] = [];
  beforeEach(async () => {
    await createProductTable(d.knex, table, kind);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  return (o = {}) => {
    const s = openSession(d, table, o.kind ?? kind, o);
    open.push(s);
    return s;
  };
}

/** The committed state of a product row, read on the suite's own connection. */
export async function committedRow(d: DialectContext, table: string, id: number): Promise<{ name: string; stock: number; version: number }> {
  const r = await d.knex(table).where({ id }).first();
  return { name: r.name, stock: Number(r.stock), version: Number(r.version) };
}
