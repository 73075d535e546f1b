/** Marks the Knex client classes the library builds for a URL or a config (their prototypes carry it, and so do their transactions' clients). */
const LIBRARY_CLIENT = Symbol.for('knex-concurrency.client');

/** Marks `cls` (a Knex client class) as built by the library: it runs statements marked `prepare` itself. */
export function markLibraryClient(cls: Function): void {
  Object.defineProperty(cls.prototype, LIBRARY_CLIENT, { value: true });
}

/**
 * Whether `client` (a Knex client, or a transaction's) is of a class the
 * library built; `false` for a Knex instance the caller built, whose client
 * class is Knex's own (or the caller's) and is left as it is.
 */
export function isLibraryClient(client: object): boolean {
  return (client as { [LIBRARY_CLIENT]?: boolean })[LIBRARY_CLIENT] === true;
}
