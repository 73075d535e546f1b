import type { Knex } from 'knex';
import type { KnexQueryObject } from '../dialect-adapter';

// Knex exposes its dialect clients only as CommonJS modules without types.
/* eslint-disable @typescript-eslint/no-require-imports */
const KnexMysql2Client: new (config: Knex.Config) => object = require('knex/lib/dialects/mysql2');

interface Mysql2Connection {
  execute(sql: string, values: readonly unknown[], cb: (err: Error | null, result: unknown, fields: unknown) => void): void;
}

interface KnexClientInternals {
  _query(connection: unknown, obj: KnexQueryObject): Promise<KnexQueryObject>;
}

const knexMysql2 = KnexMysql2Client.prototype as unknown as KnexClientInternals;

/**
 * Knex's mysql2 client, except that a statement marked `prepare` runs with
 * mysql2's `execute()`: the server parses it once per connection (mysql2
 * keeps the prepared statement) and the values travel in binary, not
 * escaped into the text. Knex's query() around it (events, transaction
 * checks, error messages) is unchanged.
 */
export class MysqlClient extends KnexMysql2Client {
  _query(connection: Mysql2Connection, obj: KnexQueryObject): Promise<KnexQueryObject> {
    if (obj.prepare !== true || !obj.sql) return knexMysql2._query.call(this, connection, obj);
    return new Promise((resolve, reject) => {
      connection.execute(obj.sql, obj.bindings, (err, result, fields) => {
        if (err) return reject(err);
        // The shape Knex's own _query leaves for processResponse and the adapter.
        obj.response = [result, fields];
        resolve(obj);
      });
    });
  }
}
