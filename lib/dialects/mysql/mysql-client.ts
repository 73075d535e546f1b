import type { Knex } from 'knex';
import { markLibraryClient } from '../library-client';
import type { KnexQueryObject } from '../dialect-adapter';
import { renameColumnInPlace } from './mysql-rename-column';
import { keepWithinBudget } from './mysql-statement-budget';
import { wsrepNotReadyError } from './wsrep-not-ready';

// Knex exposes its dialect clients only as CommonJS modules without types.
/* eslint-disable @typescript-eslint/no-require-imports */
const KnexMysql2Client: new (config: Knex.Config) => object = require('knex/lib/dialects/mysql2');

interface Mysql2Connection {
  execute(sql: string, values: readonly unknown[], cb: (err: Error | null, result: unknown, fields: unknown) => void): void;
  query(sql: string, values: readonly unknown[], cb: (err: Error | null, result: unknown, fields: unknown) => void): void;
}

interface KnexClientInternals {
  tableCompiler(...args: unknown[]): object;
}

const knexMysql2 = KnexMysql2Client.prototype as unknown as KnexClientInternals;

/**
 * Knex's mysql2 client, except that a column is renamed with RENAME COLUMN.
 * (The library's statements marked `prepare` run with `executePrepared`, on
 * this class and on a caller's alike: see `queryWithDriver`.)
 */
export class MysqlClient extends KnexMysql2Client {
  // See renameColumnInPlace: a version column's clock default survives a rename.
  tableCompiler(...args: unknown[]): object {
    return renameColumnInPlace(knexMysql2.tableCompiler.apply(this, args));
  }
}
markLibraryClient(MysqlClient);

interface Mysql2RawConnection {
  query(sql: string, cb: (err: Error | null, rows: unknown) => void): void;
  destroy(): void;
}

interface KnexRawConnections {
  acquireRawConnection(): Promise<Mysql2RawConnection>;
}

/**
 * The client of a Galera node (`connect({ nodes })`): a new connection is
 * lent only if its node is synced with the cluster (`wsrep_ready`). A node
 * that is joining or leaving accepts connections but refuses statements
 * (see wsrep-not-ready.ts); refused here, while connecting, the failure is a
 * `DatabaseUnavailableError` (`not-ready`), on which a `{ nodes }` database
 * moves to the next node, as for a node that refuses connections. One
 * SHOW per new connection, none per statement.
 */
export class GaleraClient extends MysqlClient {
  async acquireRawConnection(): Promise<Mysql2RawConnection> {
    const connection = await (MysqlClient.prototype as unknown as KnexRawConnections).acquireRawConnection.call(this);
    const state = await new Promise<string>((resolve, reject) =>
      connection.query("SHOW GLOBAL STATUS LIKE 'wsrep_ready'", (err, rows) => (err ? reject(err) : resolve(String((rows as { Value?: unknown }[])[0]?.Value ?? 'ON')))),
    ).catch((err: unknown) => {
      connection.destroy();
      throw err;
    });
    if (state === 'ON') return connection;
    connection.destroy();
    throw wsrepNotReadyError(state);
  }
}

/**
 * Runs `obj` with mysql2's `execute()`: the server parses it once per
 * connection (mysql2 keeps the prepared statement) and the values travel in
 * binary, not escaped into the text. Leaves the answer where Knex's _query leaves it.
 */
export function executePrepared(connection: object, obj: KnexQueryObject, failed: (err: unknown) => unknown): Promise<KnexQueryObject> {
  return execute(connection, obj, failed, false);
}

/**
 * `executePrepared`, except that a statement the server refuses to prepare
 * (`refusedToPrepare`) runs on the text protocol, as Knex runs it: for
 * writes, whose answer (matched rows, the new key) is the same either way,
 * so that a server out of prepared statements does not refuse them.
 */
export function executePreparedOrText(connection: object, obj: KnexQueryObject, failed: (err: unknown) => unknown): Promise<KnexQueryObject> {
  return execute(connection, obj, failed, true);
}

/**
 * 1295 ER_UNSUPPORTED_PS: a statement the server does not prepare; 1461
 * ER_MAX_PREPARED_STMT_COUNT_REACHED: the server keeps no more statements
 * (`max_prepared_stmt_count` counts every session's). Neither ran anything,
 * nor touched a transaction.
 */
export function refusedToPrepare(err: unknown): boolean {
  const errno = (err as { errno?: unknown } | null)?.errno;
  return errno === 1295 || errno === 1461;
}

function execute(connection: object, obj: KnexQueryObject, failed: (err: unknown) => unknown, textOnRefusal: boolean): Promise<KnexQueryObject> {
  return new Promise((resolve, reject) => {
    // One callback for both protocols: a save allocates no more than it did with one.
    const answered = (err: Error | null, result: unknown, fields: unknown): void => {
      if (err !== null) {
        if (textOnRefusal && refusedToPrepare(err)) {
          textOnRefusal = false;
          // As Knex's mysql2 client runs a statement: the values escaped into the text by mysql2.
          return (connection as Mysql2Connection).query(obj.sql, obj.bindings, answered);
        }
        return reject(failed(err));
      }
      // The shape Knex's own _query leaves for processResponse and the adapter.
      obj.response = [result, fields];
      resolve(obj);
    };
    try {
      keepWithinBudget(connection, obj.sql);
      (connection as Mysql2Connection).execute(obj.sql, obj.bindings, answered);
    } catch (err) {
      // mysql2 refuses some bindings (undefined) before sending anything.
      reject(failed(err));
    }
  });
}
