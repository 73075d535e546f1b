import { MAX_PREPARED_PER_CONNECTION } from '../dialect-adapter-base';

interface Mysql2Statements {
  readonly config?: { readonly maxPreparedStatements?: unknown };
  unprepare(sql: string): unknown;
}

// Per connection that keeps more statements than the library's bound: the
// texts the library prepared on it, least recently run first.
const keptOn = new WeakMap<object, Map<string, true>>();

/**
 * Keeps the statements the library prepares on `connection` (mysql2's)
 * within MAX_PREPARED_PER_CONNECTION, as mysql2 itself does on a connection
 * the library configured (`maxPreparedStatements`). A Knex instance the
 * caller built keeps mysql2's default of 16,000 per connection, and every
 * distinct text the library runs (an update per set of changed fields, a
 * load per shape of query) would stay prepared for the connection's
 * lifetime: the server refuses new statements past
 * `max_prepared_stmt_count` (16,382 by default) for every session, the
 * caller's included. Past the bound, the library closes its least recently
 * run text; statements the caller prepared are left alone.
 */
export function keepWithinBudget(connection: object, sql: string): void {
  const max = (connection as Mysql2Statements).config?.maxPreparedStatements;
  if (typeof max !== 'number' || max <= MAX_PREPARED_PER_CONNECTION) return;
  let kept = keptOn.get(connection);
  if (kept === undefined) keptOn.set(connection, (kept = new Map()));
  if (kept.delete(sql)) {
    kept.set(sql, true);
    return;
  }
  if (kept.size >= MAX_PREPARED_PER_CONNECTION) {
    const oldest = kept.keys().next().value as string;
    kept.delete(oldest);
    // Queued behind whatever runs on the connection now: mysql2 sends COM_STMT_CLOSE.
    (connection as Mysql2Statements).unprepare(oldest);
  }
  kept.set(sql, true);
}
