import type { Knex } from 'knex';

// Knex exposes its dialect clients only as CommonJS modules without types.
/* eslint-disable @typescript-eslint/no-require-imports */
const KnexPgClient: new (config: Knex.Config) => object = require('knex/lib/dialects/postgres');

interface KnexPgInternals {
  wrapIdentifierImpl(value: string): string;
}

const knexPg = KnexPgClient.prototype as unknown as KnexPgInternals;

/**
 * Knex's pg client, except that a `?` inside a quoted identifier (a column
 * named `ok?`) is escaped as `\?`. Knex writes every statement with `?`
 * placeholders and, for PostgreSQL, numbers them (`$1`, `$2`) without
 * looking at quotes, so `"ok?"` became `"ok$1"` and every statement on
 * the table failed; `\?` is the escape that numbering leaves as a plain `?`.
 * The same quoting serves the library's own statements and Knex's builder.
 */
export class PostgresClient extends (KnexPgClient as new (config: Knex.Config) => KnexPgInternals) {
  override wrapIdentifierImpl(value: string): string {
    return knexPg.wrapIdentifierImpl.call(this, value).replace(/\?/g, '\\?');
  }
}
