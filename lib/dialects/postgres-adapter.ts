import type { Knex } from 'knex';
import type { UnavailableReason } from '../errors';
import { postgresVersionTriggers } from './postgres-version-triggers';
import { DialectAdapterBase, DriverQueryObject, ErrorClassification, ExecResult, KnexClientQuery, MAX_PREPARED_PER_CONNECTION, StatementToRun } from './dialect-adapter';

// SQLSTATEs that mean "run the transaction again". PostgreSQL aborts the
// whole transaction on each of them (later statements fail with 25P02), and a
// serialization failure under SERIALIZABLE may only surface at COMMIT.
const RETRY: Record<string, [ErrorClassification['kind'], string]> = {
  '40001': ['serialization', 'serialization_failure'],
  '40P01': ['deadlock', 'deadlock_detected'],
  // lock_timeout (or NOWAIT) expired.
  '55P03': ['lock-timeout', 'lock_not_available'],
};

// SQLSTATEs after which the server has closed the session, with what they
// mean when they come while connecting.
const LOST: Record<string, [string, UnavailableReason]> = {
  '57P01': ['admin_shutdown', 'shutting-down'], // pg_terminate_backend(), fast shutdown
  '57P02': ['crash_shutdown', 'shutting-down'], // another backend crashed, or an immediate shutdown
  '57P05': ['idle_session_timeout', 'dropped'],
  '25P03': ['idle_in_transaction_session_timeout', 'dropped'],
};

// SQLSTATEs only a connection attempt meets: nothing was sent.
const UNAVAILABLE: Record<string, [string, UnavailableReason]> = {
  // "the database system is starting up / shutting down / in recovery mode /
  // not yet accepting connections"; the message tells which.
  '57P03': ['cannot_connect_now', 'starting-up'],
  '53300': ['too_many_connections', 'too-many-connections'],
  '28P01': ['invalid_password', 'auth'],
  '28000': ['invalid_authorization_specification', 'auth'],
};

// node-postgres' own errors for a socket that closed; they carry no code.
const DRIVER_LOST = /(Connection terminated unexpectedly|Connection terminated|Client has encountered a connection error and is not queryable|Client was closed and is not queryable)$/;

// node-postgres' own errors for a connection that could not be set up.
const DRIVER_UNAVAILABLE: readonly [RegExp, UnavailableReason][] = [
  [/^Connection terminated due to connection timeout/, 'unreachable'],
  [/^The server does not support SSL connections/, 'tls'],
  [/^SASL: /, 'auth'],
];

interface PgResult {
  rowCount: number | null;
  rows: Record<string, unknown>[];
}

// One name per SQL text for the whole process: pools of several Database
// objects may share connections (one Knex passed to connect() twice), and a
// connection must never see one name for two texts.
const statementNames = new Map<string, string>();
let statementCount = 0;

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) statementNames.set(sql, (name = `knex_concurrency_${++statementCount}`));
  return name;
}

// The names each connection has been given. node-postgres never deallocates
// a named statement, so a connection that has its share runs further texts
// unnamed (parsed each time) rather than keep one more for its lifetime.
const namedOn = new WeakMap<object, Set<string>>();

function mayName(connection: object, name: string): boolean {
  let names = namedOn.get(connection);
  if (names === undefined) namedOn.set(connection, (names = new Set()));
  if (names.has(name)) return true;
  if (names.size >= MAX_PREPARED_PER_CONNECTION) return false;
  names.add(name);
  return true;
}

/**
 * A kept statement the server can no longer run as it was prepared: a
 * column it returns changed type ("cached plan must not change result
 * type"), or the session lost it (`DISCARD ALL`). node-postgres would send
 * the same name again and fail on every call.
 */
function isLostStatement(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (e?.code === '26000') return true;
  return e?.code === '0A000' && /cached plan must not change result type/.test(e.message ?? '');
}

/** PostgreSQL through node-postgres (`pg`). */
export class PostgresAdapter extends DialectAdapterBase {
  readonly name = 'postgres' as const;
  override readonly supportsReturning = true;
  override readonly supportsTransactionalDdl = true;
  // NAMEDATALEN - 1: longer names are silently truncated, so triggers could collide.
  override readonly maxIdentifierLength = 63;
  override readonly versionTriggers = postgresVersionTriggers;
  override readonly arrayRowsOption = Object.freeze({ rowMode: 'array' });

  static configFromUrl(url: string): Knex.Config {
    return { client: 'pg', connection: url, pool: { min: 0, max: 10 } };
  }

  /**
   * Runs the library's statements as named prepared statements: Knex's pg
   * client passes `options` on to node-postgres, which parses a name once
   * per connection, so the server skips parsing and planning afterwards.
   */
  override async run(client: KnexClientQuery, connection: object, stmt: StatementToRun): Promise<DriverQueryObject> {
    const name = statementName(stmt.sql);
    if (!mayName(connection, name)) return super.run(client, connection, stmt);
    const obj = this.queryObject(stmt);
    obj.options = { name };
    try {
      return await client.query(connection, obj);
    } catch (err) {
      // The next call prepares the text under a new name, on every connection.
      if (isLostStatement(err) && statementNames.get(stmt.sql) === obj.options.name) statementNames.delete(stmt.sql);
      throw err;
    }
  }

  normalize(obj: DriverQueryObject): ExecResult {
    const r = obj.response as PgResult;
    return DialectAdapterBase.result(r.rowCount ?? 0, r.rows);
  }

  override classifyError(err: unknown): ErrorClassification | undefined {
    const e = err as { code?: unknown; message?: unknown } | null;
    const code = typeof e?.code === 'string' ? e.code : undefined;
    if (code !== undefined) {
      const retry = Object.hasOwn(RETRY, code) ? RETRY[code] : undefined;
      if (retry) return { kind: retry[0], code, label: `PostgreSQL ${code} ${retry[1]}` };
      // statement_timeout, pg_cancel_backend(): the statement is undone, the transaction aborted.
      if (code === '57014') return { kind: 'statement-timeout', code, label: 'PostgreSQL 57014 query_canceled' };
      const unavailable = Object.hasOwn(UNAVAILABLE, code) ? UNAVAILABLE[code] : undefined;
      if (unavailable) {
        const reason = code === '57P03' && /shutting down/.test(String(e?.message)) ? 'shutting-down' : unavailable[1];
        return { kind: 'unavailable', code, label: `PostgreSQL ${code} ${unavailable[0]}: ${String(e?.message)}`, reason };
      }
      const lost = Object.hasOwn(LOST, code) ? LOST[code] : code.startsWith('08') ? (['connection_exception', 'dropped'] as const) : undefined;
      if (lost) return { kind: 'connection-lost', code, label: `PostgreSQL ${code} ${lost[0]}`, reason: lost[1] };
    }
    if (typeof e?.message === 'string') {
      if (DRIVER_LOST.test(e.message)) return { kind: 'connection-lost', code, label: `node-postgres: ${DRIVER_LOST.exec(e.message)![1]}` };
      for (const [pattern, reason] of DRIVER_UNAVAILABLE) if (pattern.test(e.message)) return { kind: 'unavailable', code, label: `node-postgres: ${e.message}`, reason };
    }
    return DialectAdapterBase.socketFailure(err);
  }
}
