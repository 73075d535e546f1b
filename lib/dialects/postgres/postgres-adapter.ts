import { updateFromBatch } from '../update-from-batch';
import type { Knex } from 'knex';
import type { MigrationLock } from '../migration-lock';
import { PostgresMigrationLock } from './postgres-migration-lock';
import { escapeQuestionMarks, escapeQuestionMarksIn, PostgresClient } from './postgres-client';
import { checkPreparedOption, preparedOption, type PreparedStatementsOption } from '../prepared-statements-option';
import type { UnavailableReason } from '../../errors';
import { postgresVersionTriggers } from './postgres-version-triggers';
import { DialectAdapterBase, MAX_PREPARED_PER_CONNECTION } from '../dialect-adapter-base';
import type { DateRange, ErrorClassification, ExecResult, KnexClientQuery, KnexQueryObject, StatementToRun } from '../dialect-adapter';

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

/**
 * A data error (class 22: out of range, invalid text representation...) or a
 * type mismatch (42804) from a named statement: possibly a parameter type
 * fixed before a migration changed the column.
 */
function mayBeStaleParameters(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code === '42804');
}

/**
 * The session's transaction state from the server's last ReadyForQuery:
 * `'I'` idle (no transaction), `'T'` in one, `'E'` in a failed one;
 * `undefined` for a node-postgres too old to say (then nothing is re-run).
 */
function transactionStatus(connection: object): string | undefined {
  const c = connection as { getTransactionStatus?: () => string | null };
  return typeof c.getTransactionStatus === 'function' ? (c.getTransactionStatus() ?? undefined) : undefined;
}

/** PostgreSQL through node-postgres (`pg`). */
const PREPARED_PARAM = 'preparedStatements';
const PG_CLIENT_NAMES = new Set(['pg', 'postgres', 'postgresql']);

/**
 * PostgreSQL through node-postgres (`pg`).
 *
 * The library's statements run as named prepared statements unless the
 * config says `kcPreparedStatements: false` (URL: `?preparedStatements=false`),
 * which PgBouncer's transaction pooling needs.
 */
export class PostgresAdapter extends DialectAdapterBase {
  readonly name = 'postgres' as const;
  override readonly supportsReturning = true;
  override readonly supportsTransactionalDdl = true;
  // NAMEDATALEN - 1: longer names are silently truncated, so triggers could collide.
  override readonly maxIdentifierLength = 63;
  override readonly versionTriggers = postgresVersionTriggers;
  override readonly batchUpdate = updateFromBatch;
  override readonly arrayRowsOption = Object.freeze({ rowMode: 'array' });
  // timestamp/timestamptz start at 4713 BC (Julian day 0) and end in 294276,
  // past JavaScript's last date; node-postgres writes and reads BC years.
  // Knex's t.float() is `real`: 6 significant digits (1234567.891 reads back as 1234567.9).
  override readonly lossyFloatTypes: ReadonlySet<string> = Object.freeze(new Set(['real', 'numeric', 'decimal']));
  override readonly dateRange: DateRange = Object.freeze({
    min: Date.UTC(-4712, 10, 24),
    max: 8.64e15,
    description: 'PostgreSQL timestamps range from 4713 BC (-004712-11-24T00:00:00.000Z) to the last JavaScript date',
  });

  // Named statements live in the server session. Behind a pooler that hands
  // each transaction a different server connection (PgBouncer in
  // transaction mode), a name prepared on one is unknown on the next.
  #named = true;

  /** `postgres://...?preparedStatements=false` turns named statements off (see `kcPreparedStatements`). */
  static configFromUrl(url: string): Knex.Config {
    const config: Knex.Config & PreparedStatementsOption = { client: 'pg', connection: url, pool: { min: 0, max: 10 } };
    if (!url.includes(`${PREPARED_PARAM}=`)) return config;
    // node-postgres would pass an unknown parameter on to the server.
    const u = new URL(url);
    config.kcPreparedStatements = preparedOption(u.searchParams.get(PREPARED_PARAM) ?? '');
    u.searchParams.delete(PREPARED_PARAM);
    config.connection = u.toString();
    return config;
  }

  /** Whether the library's statements run as named prepared statements on this database. */
  get preparedStatements(): boolean {
    return this.#named;
  }

  override prepareConfig(config: Knex.Config): Knex.Config {
    const { kcPreparedStatements, ...rest } = config as Knex.Config & PreparedStatementsOption;
    this.#named = checkPreparedOption(kcPreparedStatements);
    // Knex's pg client, with identifiers quoted so that a `?` in one survives;
    // a client class of the caller's own is kept.
    const client = typeof rest.client === 'string' && PG_CLIENT_NAMES.has(rest.client) ? (PostgresClient as unknown as Knex.Config['client']) : rest.client;
    return { ...rest, client };
  }

  // Escaped like every identifier here: Knex numbers each `?` as a placeholder (see PostgresClient).
  override quoteLabel(client: object, label: string): string {
    return escapeQuestionMarks(super.quoteLabel(client, label));
  }

  override checkKnex(knex: Knex): void {
    this.#named = checkPreparedOption((knex.client as { config?: PreparedStatementsOption }).config?.kcPreparedStatements);
    escapeQuestionMarksIn(knex.client);
  }

  // clock_timestamp(), not now(): now() is the transaction's start, the same
  // for every row it inserts. When ALTER TABLE adds the column it is set as
  // the default after the column was added with a constant 0: a volatile
  // default in ADD COLUMN rewrites the whole table under an exclusive lock,
  // SET DEFAULT changes the catalog only.
  override clockVersionDefault(_addedToExistingTable: boolean): string | undefined {
    return '(floor(extract(epoch from clock_timestamp()) * 1000000)::bigint)';
  }

  // node-postgres parses json and jsonb; as text, the value `"42"` stays a string.
  override jsonAsText(quotedColumn: string): string {
    return `${quotedColumn}::text`;
  }

  /**
   * Runs the library's statements as named prepared statements: Knex's pg
   * client passes `options` on to node-postgres, which parses a name once
   * per connection, so the server skips parsing and planning afterwards.
   */
  override async run(client: KnexClientQuery, connection: object, stmt: StatementToRun): Promise<KnexQueryObject> {
    if (!this.#named || stmt.adHoc === true) return super.run(client, connection, stmt);
    try {
      return await this.#runNamed(client, connection, stmt);
    } catch (err) {
      // A migration altered a table under a kept statement ("cached plan must
      // not change result type"), or the session lost it. The server refused
      // it before running anything, so outside a transaction (the connection
      // is idle again: autocommit) running it once more, prepared under a new
      // name, is safe and nobody need know. Inside a transaction it is not:
      // PostgreSQL has aborted the whole transaction at the failed statement,
      // so the error goes up, classified retryable (classifyError), and
      // retryOnConflict() runs the transaction again with the new name.
      if (transactionStatus(connection) !== 'I') throw err;
      if (isLostStatement(err)) return this.#runNamed(client, connection, stmt);
      const name = statementNames.get(stmt.sql);
      if (!mayBeStaleParameters(err) || name === undefined || !namedOn.get(connection)?.has(name)) throw err;
      // A kept statement's parameter types were fixed when it was prepared: a
      // column widened since (integer to bigint) still casts its value to the
      // old type and fails (22003 out of range), with no sign that the plan is
      // stale. Run it once unprepared: if that works the name was stale and
      // the text is prepared afresh next time; if it fails too, the value is
      // the problem and that error is the answer. Costs one round trip only
      // for a statement that failed anyway.
      const result = await super.run(client, connection, stmt);
      statementNames.delete(stmt.sql);
      return result;
    }
  }

  async #runNamed(client: KnexClientQuery, connection: object, stmt: StatementToRun): Promise<KnexQueryObject> {
    const name = statementName(stmt.sql);
    if (!mayName(connection, name)) return super.run(client, connection, stmt);
    const obj = this.queryObject(stmt);
    obj.options = { ...obj.options, name };
    try {
      return await client.query(connection, obj);
    } catch (err) {
      // The next call prepares the text under a new name, on every connection.
      if (isLostStatement(err) && statementNames.get(stmt.sql) === obj.options.name) statementNames.delete(stmt.sql);
      throw err;
    }
  }

  normalize(obj: KnexQueryObject): ExecResult {
    const r = obj.response as PgResult;
    return DialectAdapterBase.result(r.rowCount ?? 0, r.rows);
  }

  // 42703 undefined_column: `column "version" does not exist` (of relation "t", for an INSERT).
  override missingColumn(err: unknown): string | undefined {
    return (err as { code?: unknown } | null)?.code === '42703' ? DialectAdapterBase.columnIn(err, /column "([^"]+)"/) : undefined;
  }

  migrationLock(knex: Knex, name: string): MigrationLock {
    return new PostgresMigrationLock(knex, name, this);
  }

  override classifyError(err: unknown): ErrorClassification | undefined {
    const e = err as { code?: unknown; message?: unknown } | null;
    const code = typeof e?.code === 'string' ? e.code : undefined;
    if (code !== undefined) {
      if (isLostStatement(err)) return { kind: 'schema-changed', code, label: `PostgreSQL ${code} ${code === '26000' ? 'invalid_sql_statement_name' : 'cached plan must not change result type'}` };
      const retry = Object.hasOwn(RETRY, code) ? RETRY[code] : undefined;
      if (retry) return { kind: retry[0], code, label: `PostgreSQL ${code} ${retry[1]}` };
      // statement_timeout, pg_cancel_backend(): the statement is undone, the transaction aborted.
      if (code === '57014') return { kind: 'statement-timeout', code, label: 'PostgreSQL 57014 query_canceled' };
      // A standby (replica) or a READ ONLY transaction refuses every write.
      if (code === '25006') return { kind: 'read-only', code, label: 'PostgreSQL 25006 read_only_sql_transaction' };
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
