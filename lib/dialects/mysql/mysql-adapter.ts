import { mysqlBatchUpdate } from './mysql-batch-update';
import type { Knex } from 'knex';
import type { MigrationLock } from '../migration-lock';
import { MysqlMigrationLock } from './mysql-migration-lock';
import { UnavailableReason, UsageError } from '../../errors';
import { mysqlVersionTriggers } from './mysql-version-triggers';
import { isWsrepNotReady } from './wsrep-not-ready';
import { DialectAdapterBase, MAX_PREPARED_PER_CONNECTION } from '../dialect-adapter-base';
import type { DateRange, ErrorClassification, ExecResult, KnexClientQuery, KnexQueryObject, StatementToRun } from '../dialect-adapter';
import { executePrepared, executePreparedOrText, MysqlClient, refusedToPrepare } from './mysql-client';
import { queryWithDriver, type DriverCall } from '../knex-query';
import { MysqlReadProtocol } from './mysql-read-protocol';
import { checkPreparedOption, preparedOption, type PreparedStatementsOption } from '../prepared-statements-option';

// mysql2's CLIENT_FOUND_ROWS capability bit.
const FOUND_ROWS = 0x2;

// Error numbers that mean "run the transaction again".
// Statements the server cancelled (time limit, KILL QUERY): each is undone.
const TIMEOUT: Record<number, string> = {
  1317: 'ER_QUERY_INTERRUPTED',
  3024: 'ER_QUERY_TIMEOUT', // MySQL max_execution_time
  1969: 'ER_STATEMENT_TIMEOUT', // MariaDB max_statement_time
};

const RETRY: Record<number, [ErrorClassification['kind'], string]> = {
  // ER_CHECKREAD: with innodb_snapshot_isolation=ON (MariaDB's default from
  // 11.6) a write to a row changed since the transaction's snapshot.
  1020: ['serialization', 'ER_CHECKREAD'],
  // InnoDB rolls the whole transaction back on a deadlock.
  1213: ['deadlock', 'ER_LOCK_DEADLOCK'],
  // Only the statement is rolled back: the transaction stays open, and a later
  // COMMIT would persist half of it. The library rolls it back as a whole.
  1205: ['lock-timeout', 'ER_LOCK_WAIT_TIMEOUT'],
};

// Codes after which the session is gone: the server killed it or shut down,
// or mysql2 lost the socket; with what each means while connecting. mysql2
// also marks every error that leaves the connection unusable with
// `fatal: true`.
const LOST = new Map<string, UnavailableReason>([
  ['PROTOCOL_CONNECTION_LOST', 'dropped'],
  ['ER_CONNECTION_KILLED', 'dropped'],
  ['ER_SERVER_SHUTDOWN', 'shutting-down'], // 1053
  ['ER_CLIENT_INTERACTION_TIMEOUT', 'dropped'],
]);

// Error numbers only a connection attempt meets: nothing was sent. The
// 2000s are libmysqlclient's (a MySQL or MariaDB proxy may relay them);
// mysql2 reports the same failures with Node's codes (ECONNREFUSED...).
const UNAVAILABLE: Record<number, [string, UnavailableReason]> = {
  1040: ['ER_CON_COUNT_ERROR', 'too-many-connections'],
  1203: ['ER_TOO_MANY_USER_CONNECTIONS', 'too-many-connections'],
  1044: ['ER_DBACCESS_DENIED_ERROR', 'auth'],
  1045: ['ER_ACCESS_DENIED_ERROR', 'auth'],
  1129: ['ER_HOST_IS_BLOCKED', 'auth'],
  1130: ['ER_HOST_NOT_PRIVILEGED', 'auth'],
  1251: ['ER_NOT_SUPPORTED_AUTH_MODE', 'auth'],
  1698: ['ER_ACCESS_DENIED_NO_PASSWORD_ERROR', 'auth'],
  2002: ['CR_CONNECTION_ERROR', 'refused'],
  2003: ['CR_CONN_HOST_ERROR', 'refused'],
  2005: ['CR_UNKNOWN_HOST', 'dns'],
  2026: ['CR_SSL_CONNECTION_ERROR', 'tls'],
};

// libmysqlclient's numbers for a connection that died under a statement.
const LOST_ERRNO: Record<number, string> = { 2006: 'CR_SERVER_GONE_ERROR', 2013: 'CR_SERVER_LOST' };

// mysql2's own codes for a connection that could not be set up.
const DRIVER_UNAVAILABLE = new Map<string, UnavailableReason>([
  ['HANDSHAKE_NO_SSL_SUPPORT', 'tls'],
  ['HANDSHAKE_SSL_ERROR', 'tls'],
]);

interface ResultHeader {
  affectedRows?: number;
  insertId?: number;
}

function flagList(flags: unknown): string[] {
  if (Array.isArray(flags)) return flags.map(String);
  return String(flags ?? '')
    .split(',')
    .map((f) => f.trim())
    .filter(Boolean);
}

/**
 * MySQL and MariaDB through `mysql2`.
 *
 * An UPDATE that sets a column to the value it already holds "affects" no
 * row; only with the FOUND_ROWS client flag does the driver report matched
 * rows, which is what compare-and-swap must count. mysql2 sets the flag by
 * default; a config that removes it is refused.
 */
export class MysqlAdapter extends DialectAdapterBase {
  readonly name = 'mysql' as const;
  override readonly maxIdentifierLength = 64;
  // At REPEATABLE READ a plain SELECT inside a transaction reads the
  // transaction's snapshot, which can predate the change that made the
  // compare-and-swap fail; a locking read sees the latest committed row.
  override readonly latestRowReadSuffix = ' LOCK IN SHARE MODE';
  override readonly versionTriggers = mysqlVersionTriggers;
  override readonly batchUpdate = mysqlBatchUpdate;
  // No array rows: mysql2 builds an object row as cheaply as an array, and
  // the object becomes the instance's values (converted in place) instead of
  // being copied into a new one: 10% fewer instructions for a 10,000-row
  // load (callgrind, 38.5M against 34.1M; Knex's plain rows take 30.3M).
  // DATETIME's documented range. Outside it the server stores 0000-00-00 or
  // refuses, mysql2 reads years below 100 as 19xx/20xx and throws a raw
  // RangeError for negative ones. (A TIMESTAMP column is narrower still:
  // 1970 to 2038; declare date columns with t.datetime() on MySQL.)
  // Knex's t.float() is `float(8, 2)`: 0.125 reads back as 0.12, and 10^6 is refused.
  override readonly lossyFloatTypes: ReadonlySet<string> = Object.freeze(new Set(['float', 'decimal', 'numeric']));
  // TIMESTAMP is 4-byte epoch seconds: the server refuses (strict mode) or
  // zeroes other dates, and converts values through the session time zone.
  override readonly narrowDateTypes: ReadonlyMap<string, DateRange> = new Map([
    [
      'timestamp',
      Object.freeze({
        min: Date.UTC(1970, 0, 1, 0, 0, 1),
        max: Date.UTC(2038, 0, 19, 3, 14, 7, 999),
        description: 'a MySQL/MariaDB TIMESTAMP column stores only 1970-01-01T00:00:01.000Z to 2038-01-19T03:14:07.999Z',
      }),
    ],
  ]);
  override readonly dateRange: DateRange = Object.freeze({
    min: Date.UTC(1000, 0, 1),
    max: Date.UTC(9999, 11, 31, 23, 59, 59, 999),
    description: 'MySQL/MariaDB DATETIME stores the range 1000-01-01T00:00:00.000Z to 9999-12-31T23:59:59.999Z',
  });

  // An expression default needs MariaDB 10.2.1 or MySQL 8.0.13. UTC arithmetic,
  // not unix_timestamp(now(6)): that converts through the session time zone,
  // ambiguous for an hour at the end of daylight saving time. (Knex's own
  // renameColumn() would copy it back as a quoted string: MysqlClient renames
  // with RENAME COLUMN, which keeps it.)
  override clockVersionDefault(_addedToExistingTable: boolean): string | undefined {
    return "(timestampdiff(microsecond, '1970-01-01 00:00:00', utc_timestamp(6)))";
  }

  static configFromUrl(url: string): Knex.Config {
    const u = new URL(url);
    const connection: Record<string, unknown> = {
      host: decodeURIComponent(u.hostname || '127.0.0.1'),
      port: u.port ? Number(u.port) : 3306,
      user: decodeURIComponent(u.username || 'root'),
      password: decodeURIComponent(u.password),
      database: decodeURIComponent(u.pathname.replace(/^\//, '')) || undefined,
      charset: 'utf8mb4',
      // Store and read DATETIME values as UTC, whatever the process time zone.
      timezone: 'Z',
    };
    let prepared: boolean | undefined;
    for (const [key, value] of u.searchParams) {
      if (key === 'preparedStatements') prepared = preparedOption(value);
      else connection[key] = value;
    }
    const config: Knex.Config & PreparedStatementsOption = { client: 'mysql2', connection, pool: { min: 0, max: 10 } };
    if (prepared !== undefined) config.kcPreparedStatements = prepared;
    return config;
  }

  // mysql2 parses MySQL's JSON type, and MariaDB's JSON (a LONGTEXT it marks
  // as JSON in its extended metadata); an expression is neither.
  override jsonAsText(quotedColumn: string): string {
    return `CAST(${quotedColumn} AS CHAR)`;
  }

  // MySQL and MariaDB have no DEFAULT VALUES clause.
  override insertDefaults(quotedTable: string): string {
    return `INSERT INTO ${quotedTable} () VALUES ()`;
  }

  // Server-side prepared statements live in the server session, which a
  // proxy that multiplexes connections (ProxySQL, MaxScale) may not keep.
  #prepared = true;

  /** Whether the library's writes run as server-side prepared statements on this database. */
  get preparedStatements(): boolean {
    return this.#prepared;
  }

  override prepareConfig(withOptions: Knex.Config): Knex.Config {
    const { kcPreparedStatements, ...config } = withOptions as Knex.Config & { kcPreparedStatements?: unknown };
    this.#prepared = checkPreparedOption(kcPreparedStatements);
    // Knex's mysql2 client, able to run the library's writes prepared; a
    // client class of the caller's own is kept (and writes go as text).
    const client = config.client === 'mysql2' ? (MysqlClient as unknown as Knex.Config['client']) : config.client;
    const connection = config.connection;
    if (connection && typeof connection === 'object' && !Array.isArray(connection)) {
      const flags = flagList((connection as { flags?: unknown }).flags);
      if (flags.includes('-FOUND_ROWS')) throw MysqlAdapter.foundRowsError();
      if (!flags.includes('FOUND_ROWS')) flags.push('FOUND_ROWS');
      // mysql2 keeps 16,000 statements per connection before it closes the
      // least recently used; past the bound it closes them sooner.
      const maxPreparedStatements = (connection as { maxPreparedStatements?: number }).maxPreparedStatements ?? MAX_PREPARED_PER_CONNECTION;
      return { ...config, client, connection: { ...connection, flags: flags.join(','), maxPreparedStatements } as Knex.StaticConnectionConfig };
    }
    return { ...config, client };
  }

  override checkKnex(knex: Knex): void {
    this.#prepared = checkPreparedOption((knex.client as { config?: { kcPreparedStatements?: unknown } }).config?.kcPreparedStatements);
    const settings = (knex.client as { connectionSettings?: { flags?: unknown } }).connectionSettings;
    if (settings && flagList(settings.flags).includes('-FOUND_ROWS')) throw MysqlAdapter.foundRowsError();
  }

  override checkConnection(connection: unknown): void {
    const flags = (connection as { config?: { clientFlags?: number } }).config?.clientFlags;
    if (flags !== undefined && (flags & FOUND_ROWS) === 0) throw MysqlAdapter.foundRowsError();
  }

  // Writes: what they answer (matched rows, the new key) is the same in
  // either protocol, so one the server refuses to prepare runs as text. Reads: see run().
  protected override readonly preparedCall: DriverCall = executePreparedOrText;

  readonly #reads = new MysqlReadProtocol();

  /**
   * A SELECT runs prepared, on the binary protocol, unless its text answers
   * a column type the binary protocol reads otherwise than the text
   * protocol (see MysqlReadProtocol): such an answer is read again as text,
   * and the text stays on the text protocol.
   */
  override run(client: KnexClientQuery, connection: object, stmt: StatementToRun): Promise<KnexQueryObject> {
    if (stmt.method !== 'select' || !this.#prepared) return super.run(client, connection, stmt);
    const reads = this.#reads;
    if (!reads.binary(stmt, connection)) {
      return super.run(client, connection, stmt).then((obj) => {
        reads.learn(stmt.sql, obj.response);
        return obj;
      });
    }
    const obj = this.queryObject(stmt);
    obj.prepare = true;
    // A read the server refuses to prepare runs again as text, with no query-error: it did not fail.
    return queryWithDriver(client, connection, obj, executePrepared, refusedToPrepare).then(
      (answered) => (reads.learn(stmt.sql, answered.response) ? answered : super.run(client, connection, stmt)),
      (err: unknown) => {
        if (!refusedToPrepare(err)) throw err;
        reads.refusedToPrepare(stmt.sql, err);
        return super.run(client, connection, stmt);
      },
    );
  }

  protected override queryObject(stmt: StatementToRun): KnexQueryObject {
    const obj = super.queryObject(stmt);
    if (stmt.method !== 'select' && stmt.adHoc !== true && this.#prepared) obj.prepare = true;
    return obj;
  }

  normalize(obj: KnexQueryObject): ExecResult {
    const [rows] = obj.response as [unknown, unknown];
    if (Array.isArray(rows)) return DialectAdapterBase.result(rows.length, rows as Record<string, unknown>[]);
    const header = rows as ResultHeader;
    return DialectAdapterBase.result(header.affectedRows ?? 0, undefined, header.insertId);
  }

  // 1054 ER_BAD_FIELD_ERROR: `Unknown column 't.version' in 'where clause'`.
  override missingColumn(err: unknown): string | undefined {
    return (err as { errno?: unknown } | null)?.errno === 1054 ? DialectAdapterBase.columnIn(err, /Unknown column '([^']+)'/) : undefined;
  }

  migrationLock(knex: Knex, name: string): MigrationLock {
    return new MysqlMigrationLock(knex, name, this);
  }

  override classifyError(err: unknown): ErrorClassification | undefined {
    const e = err as { errno?: unknown; code?: unknown; fatal?: unknown; message?: unknown } | null;
    const code = typeof e?.code === 'string' ? e.code : undefined;
    const errno = typeof e?.errno === 'number' ? e.errno : undefined;
    const retry = errno !== undefined && Object.hasOwn(RETRY, errno) ? RETRY[errno] : undefined;
    if (retry) return { kind: retry[0], code: errno, label: `MySQL/MariaDB ${String(errno)} ${retry[1]}` };
    const timeout = errno !== undefined && Object.hasOwn(TIMEOUT, errno) ? TIMEOUT[errno] : undefined;
    if (timeout) return { kind: 'statement-timeout', code: errno, label: `MySQL/MariaDB ${String(errno)} ${timeout}` };
    // 1290 names whichever server option prevents the statement: only --read-only makes it a read-only refusal.
    if (errno === 1792 || errno === 1836 || (errno === 1290 && /read.only/i.test(String(e?.message)))) {
      return { kind: 'read-only', code: errno, label: `MySQL/MariaDB ${String(errno)} ${String(e?.message)}` };
    }
    // A Galera node out of sync refuses the statement (see wsrep-not-ready.ts). While connecting, nothing was
    // sent; under a statement the session is of no further use (the client discards it), and a write or COMMIT
    // refused as its node left the primary component is called of unknown outcome: the library does not rely
    // on how far its write set got.
    if (isWsrepNotReady(err)) return { kind: 'connection-lost', code: errno, label: `MySQL/MariaDB ${String(errno)} ${String(code)}: ${String(e?.message)}`, reason: 'not-ready' };
    const unavailable = errno !== undefined && Object.hasOwn(UNAVAILABLE, errno) ? UNAVAILABLE[errno] : undefined;
    if (unavailable) return { kind: 'unavailable', code: errno, label: `MySQL/MariaDB ${String(errno)} ${unavailable[0]}: ${String(e?.message)}`, reason: unavailable[1] };
    const driverUnavailable = code === undefined ? undefined : DRIVER_UNAVAILABLE.get(code);
    if (driverUnavailable) return { kind: 'unavailable', code, label: `mysql2 ${code}: ${String(e?.message)}`, reason: driverUnavailable };
    // Node's codes first: mysql2 marks a refused connection `fatal` too.
    const socket = DialectAdapterBase.socketFailure(err);
    if (socket) return socket;
    const lostErrno = errno !== undefined && Object.hasOwn(LOST_ERRNO, errno) ? LOST_ERRNO[errno] : undefined;
    if (lostErrno) return { kind: 'connection-lost', code: errno, label: `MySQL/MariaDB ${String(errno)} ${lostErrno}` };
    const lost = code === undefined ? undefined : LOST.get(code);
    if (lost !== undefined || e?.fatal === true) {
      return { kind: 'connection-lost', code: code ?? errno, label: `mysql2 ${code ?? 'fatal error'}`, reason: lost ?? 'dropped' };
    }
    return undefined;
  }

  private static foundRowsError(): UsageError {
    return new UsageError(
      'knex-concurrency needs the mysql2 FOUND_ROWS client flag (it counts matched rows, so an unchanged row is not mistaken for a conflict); remove "-FOUND_ROWS" from connection.flags',
    );
  }
}
