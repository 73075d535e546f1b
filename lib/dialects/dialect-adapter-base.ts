import type { Knex } from 'knex';
import type { IsolationLevel } from '../transactions/isolation';
import type { UnavailableReason } from '../errors';
import type { DateRange, DialectAdapter, DialectName, ErrorClassification, ExecResult, KnexClientQuery, KnexQueryObject, StatementToRun } from './dialect-adapter';
import { queryWithDriver, type DriverCall } from './knex-query';
import type { MigrationLock } from './migration-lock';
import type { BatchUpdateDialect } from './batch-update-dialect';
import type { PackedRows } from './packed-rows';
import type { VersionTriggerDialect } from './version-trigger-dialect';

/**
 * How many statements the library keeps prepared on one connection. There is
 * one text per model and statement shape, but an update's shape is its set
 * of changed fields, so a model with a few fields has hundreds: unbounded,
 * every connection would keep all it ever ran for its lifetime, and MySQL
 * refuses new ones server-wide past `max_prepared_stmt_count` (16382).
 */
export const MAX_PREPARED_PER_CONNECTION = 200;

// Node's socket errors for a connection that died; ETIMEDOUT while
// connecting means the host never answered.
const SOCKET_FAILURES = new Map<string, UnavailableReason>([['ECONNRESET', 'dropped'], ['EPIPE', 'dropped'], ['ETIMEDOUT', 'unreachable']]);

// Node's errors for a connection that could not be made at all.
const CONNECT_FAILURES = new Map<string, UnavailableReason>([
  ['ECONNREFUSED', 'refused'],
  ['ENOTFOUND', 'dns'],
  ['EAI_AGAIN', 'dns'],
  ['EAI_FAIL', 'dns'],
  ['EAI_NONAME', 'dns'],
  ['EHOSTUNREACH', 'unreachable'],
  ['ENETUNREACH', 'unreachable'],
  ['EHOSTDOWN', 'unreachable'],
  ['ENETDOWN', 'unreachable'],
  ['EADDRNOTAVAIL', 'unreachable'],
]);

// Node's TLS errors: a certificate that does not verify, a failed handshake.
const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_|EPROTO$)|CERT|_SIGNATURE|ISSUER/;

const EMPTY: readonly Record<string, unknown>[] = Object.freeze([]);

/** Safe defaults, so a new capability never breaks an adapter. */
export abstract class DialectAdapterBase implements DialectAdapter {
  abstract readonly name: DialectName;
  readonly supportsReturning: boolean = false;
  readonly supportsTransactionalDdl: boolean = false;
  readonly maxIdentifierLength: number = 63;
  readonly latestRowReadSuffix: string = '';
  readonly syncedReadPrefix: string = '';
  // A database that does not know FOR UPDATE fails loudly rather than racing.
  readonly lockRowSuffix: string = ' FOR UPDATE';
  readonly versionTriggers: VersionTriggerDialect | undefined = undefined;
  readonly batchUpdate: BatchUpdateDialect | undefined = undefined;
  readonly arrayRowsOption: Readonly<Record<string, unknown>> | undefined = undefined;
  readonly packedRows: PackedRows | undefined = undefined;
  readonly dateRange: DateRange | undefined = undefined;
  // SQLite stores every REAL in 8 bytes, whatever the declared type.
  readonly lossyFloatTypes: ReadonlySet<string> = Object.freeze(new Set<string>());
  readonly narrowDateTypes: ReadonlyMap<string, DateRange> = new Map();

  // The SQL standard's form, which SQLite and PostgreSQL speak.
  insertDefaults(quotedTable: string): string {
    return `INSERT INTO ${quotedTable} DEFAULT VALUES`;
  }

  // Knex names the level in BEGIN (PostgreSQL) or in SET TRANSACTION before it (MySQL).
  transactionIsolation(level: IsolationLevel): Knex.IsolationLevels | undefined {
    return level;
  }

  quoteLabel(client: object, label: string): string {
    return (client as { wrapIdentifierImpl(value: string): string }).wrapIdentifierImpl(label);
  }

  prepareConfig(config: Knex.Config): Knex.Config {
    return config;
  }

  clockVersionDefault(_addedToExistingTable: boolean): string | undefined {
    return undefined;
  }

  // A driver that does not parse JSON columns (SQLite's has no JSON type) reads them as stored.
  jsonAsText(quotedColumn: string): string {
    return quotedColumn;
  }

  checkKnex(_knex: Knex): void {}

  checkConnection(_connection: unknown): void {}

  beginsTransaction(_transaction: object, _client: object): void {}

  /**
   * `client.query()`; a statement marked `prepare` runs on the adapter's
   * driver call (`preparedCall`) inside Knex's own steps (see
   * `queryWithDriver`), for the client class the library built and for a
   * Knex instance the caller built alike: the caller's class is neither
   * replaced nor patched, and one path is one less layer of promises on
   * every save.
   */
  run(client: KnexClientQuery, connection: object, stmt: StatementToRun): Promise<KnexQueryObject> {
    const obj = this.queryObject(stmt);
    if (obj.prepare === true) {
      const call = this.preparedCall;
      if (call !== undefined) return queryWithDriver(client, connection, obj, call);
    }
    return client.query(connection, obj);
  }

  /** The driver call that runs a statement marked `prepare` on a kept statement; `undefined`: none (the driver parses it every time). */
  protected readonly preparedCall: DriverCall | undefined = undefined;

  /** The query object for `client.query()`; a new one per call, since Knex fills it in. */
  protected queryObject(stmt: StatementToRun): KnexQueryObject {
    return { sql: stmt.sql, bindings: stmt.bindings, method: stmt.method, returning: stmt.returning ? true : undefined, options: stmt.options === undefined ? {} : { ...stmt.options } };
  }

  abstract normalize(obj: KnexQueryObject): ExecResult;

  // Unknown errors pass through untouched: calling something retryable that is
  // not would repeat work blindly, and calling a lost connection a plain error
  // only loses information, so the default claims nothing.
  classifyError(_err: unknown): ErrorClassification | undefined {
    return undefined;
  }

  missingColumn(_err: unknown): string | undefined {
    return undefined;
  }

  // No default: a lock that excludes nothing would let two runners apply the
  // same migration on any database another process can reach, so each
  // adapter says how its database is locked.
  abstract migrationLock(knex: Knex, name: string): MigrationLock;

  // A server database exists once it is reachable; only an embedded one is a
  // file that opening would create.
  databaseExists(_knex: Knex): boolean {
    return true;
  }

  /** The first capture of `pattern` in a driver error's message, without a table qualifier. */
  protected static columnIn(err: unknown, pattern: RegExp): string | undefined {
    const message = (err as { message?: unknown } | null)?.message;
    const name = typeof message === 'string' ? pattern.exec(message)?.slice(1).find((g) => g !== undefined) : undefined;
    return name?.split('.').pop();
  }

  /**
   * Node's socket-level failures, shared by the network drivers: a
   * connection that could not be made (refused, DNS, unreachable, TLS) or
   * that died (reset, broken pipe, timed out).
   */
  protected static socketFailure(err: unknown): ErrorClassification | undefined {
    const e = err as { code?: unknown; message?: unknown } | null;
    const code = e?.code;
    if (typeof code !== 'string') return undefined;
    const label = typeof e?.message === 'string' && e.message.includes(code) ? e.message : code;
    const lost = SOCKET_FAILURES.get(code);
    if (lost !== undefined) return { kind: 'connection-lost', code, label, reason: lost };
    const unavailable = CONNECT_FAILURES.get(code);
    if (unavailable !== undefined) return { kind: 'unavailable', code, label, reason: unavailable };
    if (TLS_FAILURE.test(code)) return { kind: 'unavailable', code, label: `TLS: ${typeof e?.message === 'string' ? e.message : code}`, reason: 'tls' };
    return undefined;
  }

  protected static result(rowCount: number, rows: readonly Record<string, unknown>[] = EMPTY, insertId: unknown = undefined): ExecResult {
    return { rowCount, rows, insertId };
  }
}
