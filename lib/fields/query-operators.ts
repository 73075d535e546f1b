/**
 * The comparison operators a field's values support identically on every
 * database. A query that uses another one is refused before any SQL:
 * `where(count, 'like', '1%')` runs on SQLite and MySQL (comparing text) but
 * is an error on PostgreSQL, which also aborts the surrounding transaction.
 */
export type QueryOperators = ReadonlySet<string>;

/** `=`, `!=`, `<>`: booleans. */
export const EQUALITY: QueryOperators = Object.freeze(new Set(['=', '!=', '<>']));

/** Equality and ordering: numbers, dates, versions. */
export const ORDERED: QueryOperators = Object.freeze(new Set([...EQUALITY, '<', '<=', '>', '>=']));

/** Ordering and LIKE patterns: strings. */
export const TEXT: QueryOperators = Object.freeze(new Set([...ORDERED, 'like', 'not like']));

/**
 * None: a JSON document has no comparison that means the same everywhere
 * (PostgreSQL's `json` has no `=` at all; a text column compares spellings),
 * so it can only be tested with `whereNull()` / `whereNotNull()`.
 */
export const NONE: QueryOperators = Object.freeze(new Set<string>());
