import * as fs from 'node:fs';
import type { Knex } from 'knex';
import type { IsolationLevel } from '../../transactions/isolation';
import { UsageError } from '../../errors';
import { DialectAdapterBase } from '../dialect-adapter-base';
import type { ErrorClassification, ExecResult, KnexQueryObject, StatementToRun } from '../dialect-adapter';
import { type MigrationLock, NoMigrationLock } from '../migration-lock';
import { beginImmediately, finalizeOnDestroy, runPrepared, sqliteClientClass } from './sqlite-client';
import type { SqliteConnection } from './sqlite-statement-cache';
import type { DriverCall } from '../knex-query';
import { isLibraryClient } from '../library-client';
import { updateFromBatch } from '../update-from-batch';
import { SqliteMigrationLock } from './sqlite-migration-lock';
import { SqlitePackedRows } from './sqlite-packed-rows';
import { sqliteVersionTriggers } from './sqlite-version-triggers';

const DEFAULT_BUSY_TIMEOUT_MS = 10_000;
const DEFAULT_FILE_POOL_SIZE = 4;

interface RunContext {
  changes?: number;
  lastID?: number;
}

function isMemory(filename: string): boolean {
  return filename === ':memory:' || filename === '' || filename.includes('mode=memory');
}

/** The file of a SQLite connection (`''` or `:memory:` for a memory database). */
function filenameOf(knex: Knex): string {
  const settings = (knex.client as { connectionSettings?: { filename?: string } }).connectionSettings;
  return String(settings?.filename ?? '');
}

/**
 * SQLite through `sqlite3`, the embedded default.
 *
 * A `:memory:` database lives and dies with its connection, so it gets
 * exactly one. A file database uses WAL (readers do not block the writer), a
 * busy timeout (writers queue instead of failing) and a small pool.
 */
export class SqliteAdapter extends DialectAdapterBase {
  readonly name = 'sqlite' as const;
  // RETURNING exists since SQLite 3.35 (the sqlite3 package bundles a newer
  // one), but it does not see changes made by AFTER triggers.
  override readonly supportsReturning = true;
  override readonly supportsTransactionalDdl = true;
  override readonly maxIdentifierLength = 1024;
  // There is no FOR UPDATE: a write transaction (BEGIN IMMEDIATE) already
  // holds the database's only write lock.
  override readonly lockRowSuffix = '';
  override readonly versionTriggers = sqliteVersionTriggers;
  // One statement per chunk: in one process it costs no round trip, but each statement still costs the library's own work.
  override readonly batchUpdate = updateFromBatch;
  // node-sqlite3 builds each row object through N-API; one JSON document of the result costs about half.
  override readonly packedRows = new SqlitePackedRows();

  // Every SQLite transaction is SERIALIZABLE: one writer at a time (the
  // library begins them IMMEDIATE), and a reader sees one snapshot. So every
  // level is given, or a stronger one, with nothing to ask; Knex would only
  // warn that it ignores the level.
  override transactionIsolation(_level: IsolationLevel): undefined {
    return undefined;
  }

  /** `sqlite:PATH`, `sqlite:///abs/path`, `sqlite::memory:`; `?busyTimeout=ms&pool=n` are optional. */
  static configFromUrl(url: string): Knex.Config {
    let rest = url.replace(/^sqlite3?:/, '');
    if (rest.startsWith('//')) rest = rest.slice(2);
    const q = rest.indexOf('?');
    const params = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
    const filename = decodeURIComponent(q >= 0 ? rest.slice(0, q) : rest);
    if (filename === '') throw new UsageError(`connect(): "${url}" names no SQLite file; use sqlite:./app.db or sqlite::memory:`);
    const config: Knex.Config = { client: 'sqlite3', connection: { filename } };
    const busy = params.get('busyTimeout');
    const pool = params.get('pool');
    return {
      ...config,
      ...(pool ? { pool: { min: 1, max: Number(pool) } } : {}),
      ...(busy ? { kcBusyTimeoutMs: Number(busy) } : {}),
    } as Knex.Config;
  }

  // julianday('now') has millisecond precision; scaled to microseconds like the
  // others. ALTER TABLE ADD COLUMN refuses a non-constant default on a table
  // with rows, and a default cannot change without rebuilding the table
  // (which drops its triggers), so a column added later defaults to 0.
  override clockVersionDefault(addedToExistingTable: boolean): string | undefined {
    return addedToExistingTable ? undefined : "(CAST((julianday('now') - 2440587.5) * 86400000000 AS INTEGER))";
  }

  override prepareConfig(config: Knex.Config): Knex.Config {
    const connection = (config.connection ?? {}) as { filename?: string };
    const filename = String(connection.filename ?? '');
    const memory = isMemory(filename);
    const busyTimeoutMs = Number((config as { kcBusyTimeoutMs?: number }).kcBusyTimeoutMs ?? DEFAULT_BUSY_TIMEOUT_MS);
    const { kcBusyTimeoutMs: _drop, ...rest } = config as Knex.Config & { kcBusyTimeoutMs?: number };
    const pool = memory
      ? { ...rest.pool, min: 1, max: 1 }
      : { min: 1, max: DEFAULT_FILE_POOL_SIZE, ...rest.pool };
    return {
      ...rest,
      client: sqliteClientClass({ busyTimeoutMs, wal: !memory }) as unknown as Knex.Config['client'],
      useNullAsDefault: true,
      pool,
    };
  }

  // A compiled statement kept per connection, for the client class
  // prepareConfig installs and for a Knex instance built elsewhere alike.
  protected override readonly preparedCall: DriverCall = (connection, obj, failed) => runPrepared(connection as SqliteConnection, obj, failed);

  // A Knex instance the caller built keeps Knex's client class, which would
  // close a connection without finalizing the statements kept on it.
  override checkKnex(knex: Knex): void {
    if (!isLibraryClient(knex.client)) finalizeOnDestroy((knex.client as { pool?: Parameters<typeof finalizeOnDestroy>[0] }).pool);
  }

  // A caller's Knex instance keeps Knex's client class, whose transactions
  // begin deferred: one that reads before it writes then meets SQLITE_BUSY at
  // once instead of waiting its turn (see ImmediateTransaction). The
  // transaction object itself is ours, created for this call: its begin is
  // set on it, and the client class stays as the caller built it.
  override beginsTransaction(transaction: object, client: object): void {
    if (!isLibraryClient(client)) beginImmediately(transaction);
  }

  protected override queryObject(stmt: StatementToRun): KnexQueryObject {
    const obj = super.queryObject(stmt);
    if (stmt.adHoc !== true) obj.prepare = true;
    return obj;
  }

  normalize(obj: KnexQueryObject): ExecResult {
    const ctx = (obj.context ?? {}) as RunContext;
    if (Array.isArray(obj.response)) {
      const rows = obj.response as Record<string, unknown>[];
      return DialectAdapterBase.result(rows.length, rows);
    }
    return DialectAdapterBase.result(ctx.changes ?? 0, undefined, ctx.lastID);
  }

  // SQLITE_BUSY: another connection holds the lock this one needs. It comes
  // after the busy timeout, or at once where waiting could deadlock: a
  // deferred transaction (`BEGIN`, as a Knex instance you built uses) that
  // read first and now needs the write lock, or whose snapshot is stale in
  // WAL mode. Running the whole transaction again is the cure. A COMMIT that
  // returns BUSY leaves SQLite's transaction open; `db.transaction()` rolls
  // it back before the connection returns to the pool.
  // SQLITE_ERROR with `no such column: version` (reads, WHERE) or `table t has no column named version` (INSERT).
  override missingColumn(err: unknown): string | undefined {
    return DialectAdapterBase.columnIn(err, /no such column: ([\w."]+)|has no column named ([\w"]+)/)?.replace(/"/g, '');
  }

  // A file has one lock, whatever the migrations table: SQLite has no named
  // locks. A memory database lives on one connection of one process: no
  // other runner can reach it.
  migrationLock(knex: Knex, _name: string): MigrationLock {
    const filename = filenameOf(knex);
    return isMemory(filename) ? new NoMigrationLock() : new SqliteMigrationLock(filename);
  }

  // Opening a SQLite file that is not there creates it (and its folder must exist).
  override databaseExists(knex: Knex): boolean {
    const filename = filenameOf(knex);
    return isMemory(filename) || fs.existsSync(filename);
  }

  override classifyError(err: unknown): ErrorClassification | undefined {
    const code = (err as { code?: unknown } | null)?.code;
    if (code === 'SQLITE_BUSY') return { kind: 'busy', code, label: 'SQLite SQLITE_BUSY' };
    // A file opened read-only, or one this process may read but not write.
    if (code === 'SQLITE_READONLY') return { kind: 'read-only', code, label: `SQLite ${String((err as Error).message)}` };
    // The file (or its directory) is missing or not readable: only opening a
    // connection meets it.
    if (code === 'SQLITE_CANTOPEN') return { kind: 'unavailable', code, label: `SQLite ${String((err as Error).message)}`, reason: 'cannot-open' };
    return undefined;
  }
}
