import { createHash } from 'node:crypto';

/** Every trigger this package creates starts with this; `listVersionTriggers` finds them by it. */
export const VERSION_TRIGGER_PREFIX = 'kc_version_';

// The shortest identifier limit of the three databases (PostgreSQL's 63
// bytes; MySQL allows 64). One limit for all keeps a name the same everywhere.
const MAX_LENGTH = 63;
const HASH_LENGTH = 10;

/**
 * The name of the version trigger for `table.column`: readable, the same on
 * every database and every run, at most 63 characters, and distinct for
 * every table and column (a hash of the exact names ends it, so `a_b.c` and
 * `a.b_c`, or `Items` and `items`, never share one). A schema prefix
 * (`schema.table`) is not part of it: the trigger lives next to its table,
 * so a dump restored under another schema or database keeps its name.
 *
 * @example
 * ```ts
 * versionTriggerName('products', 'version'); // 'kc_version_products_version_' + 10 hex digits
 * ```
 */
export function versionTriggerName(table: string, column: string): string {
  const bare = table.slice(table.lastIndexOf('.') + 1);
  const hash = createHash('sha256').update(`${bare}\u0000${column}`).digest('hex').slice(0, HASH_LENGTH);
  const room = MAX_LENGTH - VERSION_TRIGGER_PREFIX.length - 1 - HASH_LENGTH;
  const slug = `${bare}_${column}`
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, room);
  return `${VERSION_TRIGGER_PREFIX}${slug}_${hash}`;
}
