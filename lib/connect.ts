import knexFactory, { Knex } from 'knex';
import { Database } from './database';
import { adapterForConfig, adapterForKnex, configForUrl } from './dialects/adapter-for';
import type { PreparedStatementsOption } from './dialects/prepared-statements-option';
import { UsageError } from './errors';

/** A database URL, a Knex config object (with the library's own options, if any), or a Knex instance. */
export type ConnectTarget = string | (Knex.Config & PreparedStatementsOption) | Knex;

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
 * - a Knex instance you built (you keep ownership: `db.close()` leaves it open).
 *
 * Behind PgBouncer in transaction pooling mode (or a MySQL proxy that
 * multiplexes connections), turn the library's server-side prepared
 * statements off: `?preparedStatements=false` in the URL, or
 * `kcPreparedStatements: false` in the Knex config.
 *
 * @example
 * ```ts
 * const db = connect(process.env.DATABASE_URL ?? 'sqlite:./demo.db');
 * Product.bind(db);
 * ```
 */
export function connect(target: ConnectTarget): Database {
  if (isKnex(target)) {
    const adapter = adapterForKnex(target);
    adapter.checkKnex(target);
    return new Database(target, adapter, false);
  }
  let config: Knex.Config;
  if (typeof target === 'string') config = configForUrl(target);
  else if (target !== null && typeof target === 'object') config = target;
  else throw new UsageError(`connect() takes a database URL, a Knex config or a Knex instance, not ${typeof target}`);
  const adapter = adapterForConfig(config);
  return new Database(knexFactory(adapter.prepareConfig(config)), adapter, true);
}
