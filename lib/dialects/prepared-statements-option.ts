import { UsageError } from '../errors';

/**
 * The Knex config option that turns the library's server-side prepared
 * statements off (PostgreSQL named statements, MySQL `execute()`); the URL
 * spells it `?preparedStatements=false`. Adapters read it and remove it
 * before Knex sees the config; on a Knex instance you built, they read it
 * from that instance's config.
 *
 * Prepared statements live in the server session, so a pooler that hands
 * each transaction whichever server connection is free (PgBouncer in
 * transaction mode, a multiplexing MySQL proxy) breaks them: turn them off
 * there. Statements are then parsed on every call.
 */
export interface PreparedStatementsOption {
  /** Default `true`. */
  kcPreparedStatements?: boolean;
}

/** The URL parameter's value. */
export function preparedOption(text: string): boolean {
  if (text === 'true' || text === '1') return true;
  if (text === 'false' || text === '0') return false;
  throw new UsageError(`connect(): preparedStatements=${text} in the URL must be true or false`);
}

/** The config option's value (absent: `true`). */
export function checkPreparedOption(value: unknown): boolean {
  if (value === undefined) return true;
  if (typeof value !== 'boolean') throw new UsageError(`connect(): kcPreparedStatements must be true or false, not ${String(value)}`);
  return value;
}
