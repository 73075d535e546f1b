import type { Knex } from 'knex';
import { UsageError } from '../errors';
import { mysqlVersionTriggers } from './mysql-version-triggers';
import { DialectAdapterBase, DriverQueryObject, ErrorClassification, ExecResult, KnexQueryObject, MAX_PREPARED_PER_CONNECTION, StatementToRun } from './dialect-adapter';
import { MysqlClient } from './mysql-client';

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
// or mysql2 lost the socket. mysql2 also marks every error that leaves the
// connection unusable with `fatal: true`.
const LOST = new Set(['PROTOCOL_CONNECTION_LOST', 'ER_CONNECTION_KILLED', 'ER_SERVER_SHUTDOWN', 'ER_CLIENT_INTERACTION_TIMEOUT']);

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
  override readonly arrayRowsOption = Object.freeze({ rowsAsArray: true });

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
    for (const [key, value] of u.searchParams) connection[key] = value;
    return { client: 'mysql2', connection, pool: { min: 0, max: 10 } };
  }

  // MySQL and MariaDB have no DEFAULT VALUES clause.
  override insertDefaults(quotedTable: string): string {
    return `INSERT INTO ${quotedTable} () VALUES ()`;
  }

  override prepareConfig(config: Knex.Config): Knex.Config {
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
    const settings = (knex.client as { connectionSettings?: { flags?: unknown } }).connectionSettings;
    if (settings && flagList(settings.flags).includes('-FOUND_ROWS')) throw MysqlAdapter.foundRowsError();
  }

  override checkConnection(connection: unknown): void {
    const flags = (connection as { config?: { clientFlags?: number } }).config?.clientFlags;
    if (flags !== undefined && (flags & FOUND_ROWS) === 0) throw MysqlAdapter.foundRowsError();
  }

  // Writes only: what they answer (matched rows, the new key) is the same in
  // either protocol. Reads stay on the text protocol, whose values the fields
  // are written for; in binary a FLOAT column, for one, reads back as float32.
  protected override queryObject(stmt: StatementToRun): KnexQueryObject {
    const obj = super.queryObject(stmt);
    if (stmt.method !== 'select') obj.prepare = true;
    return obj;
  }

  normalize(obj: DriverQueryObject): ExecResult {
    const [rows] = obj.response as [unknown, unknown];
    if (Array.isArray(rows)) return DialectAdapterBase.result(rows.length, rows as Record<string, unknown>[]);
    const header = rows as ResultHeader;
    return DialectAdapterBase.result(header.affectedRows ?? 0, undefined, header.insertId);
  }

  // 1054 ER_BAD_FIELD_ERROR: `Unknown column 't.version' in 'where clause'`.
  override missingColumn(err: unknown): string | undefined {
    return (err as { errno?: unknown } | null)?.errno === 1054 ? DialectAdapterBase.columnIn(err, /Unknown column '([^']+)'/) : undefined;
  }

  override classifyError(err: unknown): ErrorClassification | undefined {
    const e = err as { errno?: unknown; code?: unknown; fatal?: unknown } | null;
    const code = typeof e?.code === 'string' ? e.code : undefined;
    const retry = typeof e?.errno === 'number' ? RETRY[e.errno] : undefined;
    if (retry) return { kind: retry[0], code: e!.errno as number, label: `MySQL/MariaDB ${String(e!.errno)} ${retry[1]}` };
    const timeout = typeof e?.errno === 'number' ? TIMEOUT[e.errno] : undefined;
    if (timeout) return { kind: 'statement-timeout', code: e!.errno as number, label: `MySQL/MariaDB ${String(e!.errno)} ${timeout}` };
    if ((code !== undefined && LOST.has(code)) || e?.fatal === true) {
      return { kind: 'connection-lost', code: code ?? (e?.errno as number | undefined), label: `mysql2 ${code ?? 'fatal error'}` };
    }
    return DialectAdapterBase.socketFailure(err);
  }

  private static foundRowsError(): UsageError {
    return new UsageError(
      'knex-concurrency needs the mysql2 FOUND_ROWS client flag (it counts matched rows, so an unchanged row is not mistaken for a conflict); remove "-FOUND_ROWS" from connection.flags',
    );
  }
}
