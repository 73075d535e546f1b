import knexFactory, { Knex } from 'knex';
import { Database } from './database';
import { adapterForConfig, adapterForKnex, configForUrl } from './dialects/adapter-for';
import type { PreparedStatementsOption } from './dialects/prepared-statements-option';
import { UsageError } from './errors';
import { letIdlePoolExit } from './idle-pool';
import { consoleLogger, DatabaseLogger, knexLog } from './knex-log';
import { checkIsolation, type IsolationLevel } from './transactions/isolation';
import { typeAcquireFailures } from './typed-acquire';

/** A database URL, a Knex config object (with the library's own options, if any), or a Knex instance. */
export type ConnectTarget = string | (Knex.Config & PreparedStatementsOption) | Knex;

/** Options of `connect()`. */
export interface ConnectOptions {
  /**
   * Where what Knex and the drivers would print goes, one line per message
   * (default: warnings and errors on the console, and nothing for failed or
   * dead connections, which reach the caller as typed errors). A `log` in a
   * Knex config object takes precedence. Not for a Knex instance, which
   * keeps its own logging.
   */
  readonly log?: Partial<DatabaseLogger>;
  /**
   * Before a model's first statement on this database, check that its
   * table exists, that every field has a column and that the version column
   * is a bigint, once per model (default `true`): a mismatch is a
   * `SchemaMismatchError` naming the migration call that fixes it, not the
   * driver's error. It reads the catalog once per model; `false` skips it.
   */
  readonly schemaCheck?: boolean;
  /**
   * The isolation level of every transaction this database opens (yours
   * and the library's own); `db.transaction(fn, { isolation })` overrides
   * it for one. Default: the database's own (PostgreSQL: read committed,
   * MySQL/MariaDB: repeatable read). SQLite runs every transaction
   * SERIALIZABLE, whatever is asked. Statements outside a transaction run
   * at the database's default.
   */
  readonly isolation?: IsolationLevel;
}

function isKnex(target: unknown): target is Knex {
  return typeof target === 'function' && typeof (target as Partial<Knex>).client === 'object';
}

/**
 * Connects to SQLite, PostgreSQL or MySQL/MariaDB.
 *
 * - `sqlite:./app.db` (a file: WAL, a busy timeout, a small pool),
 *   `sqlite::memory:` (one connection);
 * - `postgres://user:password@host:5432/db`;
 * - `mysql://user:password@host:3306/db` (MariaDB too);
 * - a Knex config object (`{ client: 'pg', connection: ... }`);
 * - a Knex instance you built (you keep ownership: `db.close()` leaves it
 *   open, and its logging and errors stay as you configured them).
 *
 * With a URL or a config, a connection that cannot be had (server down or
 * restarting, DNS, credentials, TLS, pool timeout) is a
 * `DatabaseUnavailableError` for every query, and Knex's and the drivers'
 * messages go through `options.log`, one line each: nothing prints a stack
 * trace on its own.
 *
 * A model's first statement on the database is preceded by a cheap check
 * of its table (see `ConnectOptions.schemaCheck`).
 *
 * Behind PgBouncer in transaction pooling mode (or a MySQL proxy that
 * multiplexes connections), turn the library's server-side prepared
 * statements off: `?preparedStatements=false` in the URL, or
 * `kcPreparedStatements: false` in the Knex config.
 *
 * @example
 * ```ts
 * const db = connect(process.env.DATABASE_URL ?? 'sqlite:./demo.db', {
 *   log: { warn: (m) => logger.warn(m), error: (m) => logger.error(m), debug: (m) => logger.debug(m) },
 * });
 * Product.bind(db);
 * ```
 */
export function connect(target: ConnectTarget, options: ConnectOptions = {}): Database {
  if (options.schemaCheck !== undefined && typeof options.schemaCheck !== 'boolean') throw new UsageError(`connect(): schemaCheck is true or false, not ${String(options.schemaCheck)}`);
  const isolation = checkIsolation(options.isolation, 'connect()');
  if (isKnex(target)) {
    if (options.log !== undefined) throw new UsageError('connect(knex, { log }): a Knex instance you built keeps its own logging; set `log` in its config instead');
    const adapter = adapterForKnex(target);
    adapter.checkKnex(target);
    return new Database(target, adapter, false, options.schemaCheck !== false, isolation);
  }
  let config: Knex.Config;
  if (typeof target === 'string') config = configForUrl(target);
  else if (target !== null && typeof target === 'object') config = target;
  else throw new UsageError(`connect() takes a database URL, a Knex config or a Knex instance, not ${typeof target}`);
  const adapter = adapterForConfig(config);
  // Knex's debug output is asked for explicitly: keep it on the console.
  const logger = options.log ?? (config.debug ? { ...consoleLogger, debug: (m: string) => console.log(m) } : consoleLogger);
  const knex = knexFactory(adapter.prepareConfig({ ...config, log: config.log ?? knexLog(logger) }));
  typeAcquireFailures(knex, adapter);
  letIdlePoolExit(knex);
  return new Database(knex, adapter, true, options.schemaCheck !== false, isolation);
}
