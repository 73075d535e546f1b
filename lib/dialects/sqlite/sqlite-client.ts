import type { Knex } from 'knex';
import type { KnexQueryObject } from '../dialect-adapter';
import { markLibraryClient } from '../library-client';
import { SqliteConnection, SqliteStatementCache } from './sqlite-statement-cache';

// Knex exposes its dialect clients only as CommonJS modules without types.
/* eslint-disable @typescript-eslint/no-require-imports */
const KnexSqliteClient: new (config: Knex.Config) => object = require('knex/lib/dialects/sqlite3');
const KnexSqliteTransaction: (new (...args: unknown[]) => KnexTransactionInternals) & { prototype: { begin: unknown } } = require('knex/lib/dialects/sqlite3/execution/sqlite-transaction');

interface KnexTransactionInternals {
  query(conn: unknown, sql: string): Promise<unknown>;
}

interface KnexClientInternals {
  destroyRawConnection(connection: unknown): Promise<void>;
}

const knexSqlite = KnexSqliteClient.prototype as unknown as KnexClientInternals;
const statements = new SqliteStatementCache();

interface SqliteDatabase {
  configure(option: 'busyTimeout', ms: number): void;
  exec(sql: string, cb: (err: Error | null) => void): void;
  close(cb: (err: Error | null) => void): void;
}

export interface SqliteSettings {
  /** How long a statement waits for another connection's write lock before SQLITE_BUSY. */
  busyTimeoutMs: number;
  /** Whether the file uses write-ahead logging (not for `:memory:`). */
  wal: boolean;
}

/**
 * A deferred transaction (`BEGIN`) that reads first and writes later must
 * upgrade its lock, and SQLite then answers SQLITE_BUSY at once, ignoring the
 * busy timeout, because waiting could deadlock. `BEGIN IMMEDIATE` takes the
 * write lock up front, so writers queue on the busy timeout instead.
 */
class ImmediateTransaction extends KnexSqliteTransaction {
  begin(conn: unknown): Promise<unknown> {
    return this.query(conn, 'BEGIN IMMEDIATE;');
  }
}

/**
 * Makes one Knex transaction object of a caller's sqlite3 client begin with
 * `BEGIN IMMEDIATE`, unless its class begins its own way (a client class of
 * the caller's that chose how its transactions begin is kept).
 */
export function beginImmediately(transaction: object): void {
  const trx = transaction as KnexTransactionInternals & { begin(conn: unknown): Promise<unknown> };
  if (trx.begin !== KnexSqliteTransaction.prototype.begin) return;
  trx.begin = (conn) => trx.query(conn, 'BEGIN IMMEDIATE;');
}

/** Builds Knex's sqlite3 client with immediate transactions and per-connection settings. */
export function sqliteClientClass(settings: SqliteSettings): new (config: Knex.Config) => object {
  const pragmas = ['PRAGMA foreign_keys = ON;', settings.wal ? 'PRAGMA journal_mode = WAL;' : ''].join(' ');

  class SqliteClient extends KnexSqliteClient {
    transaction(...args: unknown[]): unknown {
      return new ImmediateTransaction(this, ...args);
    }

    async acquireRawConnection(): Promise<SqliteDatabase> {
      const db = (await (KnexSqliteClient.prototype as unknown as { acquireRawConnection(): Promise<SqliteDatabase> }).acquireRawConnection.call(this));
      try {
        db.configure('busyTimeout', settings.busyTimeoutMs);
        await new Promise<void>((resolve, reject) => db.exec(pragmas, (err) => (err ? reject(err) : resolve())));
      } catch (err) {
        // The pool never sees this connection: close it here or its file handle leaks.
        db.close(() => {});
        throw err;
      }
      return db;
    }

    async destroyRawConnection(connection: SqliteConnection): Promise<void> {
      await statements.finalizeAll(connection);
      return knexSqlite.destroyRawConnection.call(this, connection);
    }
  }
  markLibraryClient(SqliteClient);
  return SqliteClient;
}

/** Runs `obj` on the statement kept for its SQL on `connection`, leaving the answer where Knex's _query leaves it. */
export function runPrepared(connection: SqliteConnection, obj: KnexQueryObject, failed: (err: unknown) => unknown): Promise<KnexQueryObject> {
  // The driver call Knex picks for the method: rows for reads and RETURNING, a run otherwise.
  const how = obj.method === 'del' || ((obj.method === 'insert' || obj.method === 'update') && !obj.returning) ? 'run' : 'all';
  return statements.call(connection, obj.sql, how, obj.bindings, obj, failed);
}

const finalizing = new WeakSet<object>();

/**
 * For a Knex instance the caller built: finalizes a connection's kept
 * statements when its pool is about to destroy it (`sqlite3_close` refuses a
 * connection that still has some). The pool announces it synchronously just
 * before, and a finalize issued then runs first.
 */
export function finalizeOnDestroy(pool: { on(event: 'destroyRequest', fn: (id: number, connection: SqliteConnection) => void): void } | undefined): void {
  if (pool === undefined || finalizing.has(pool)) return;
  finalizing.add(pool);
  pool.on('destroyRequest', (_id, connection) => statements.finalizeNow(connection));
}
