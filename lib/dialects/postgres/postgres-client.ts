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
    return escapeQuestionMarks(knexPg.wrapIdentifierImpl.call(this, value));
  }
}

// A `?` not already escaped (a user's wrapIdentifier hook may have done it).
function escapeQuestionMarks(quoted: string): string {
  return quoted.replace(/(?<!\\)\?/g, '\\?');
}

type WrapIdentifierHook = (value: string, impl: (value: string) => string, queryContext: unknown) => string;

/**
 * The same escape for a Knex instance the caller built (`connect(knex)`):
 * its quoting, whatever it is (a `wrapIdentifier` hook of its config
 * included), then `?` escaped. Set as a `wrapIdentifier` hook on a copy of
 * the client's config (the caller's object is left alone), which Knex's
 * transaction clients share. It changes nothing for a name without `?`, and
 * a name with one could not be used by any statement before.
 */
export function escapeQuestionMarksIn(client: object): void {
  const c = client as { config: { wrapIdentifier?: WrapIdentifierHook; [ESCAPED]?: true } };
  if (c instanceof PostgresClient || c.config[ESCAPED]) return;
  const hook = c.config.wrapIdentifier;
  const wrapIdentifier: WrapIdentifierHook = (value, impl, queryContext) => escapeQuestionMarks(hook === undefined ? impl(value) : hook(value, impl, queryContext));
  c.config = { ...c.config, wrapIdentifier, [ESCAPED]: true };
}

const ESCAPED = Symbol('knex-concurrency: ? escaped in identifiers');
