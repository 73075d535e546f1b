import type { Knex } from 'knex';

/**
 * Where a Database sends its statements: the Knex instance that takes writes
 * (and every read that must see the latest committed row), the one that
 * serves plain reads outside transactions, and every instance it owns.
 * For one server all three are the same; for a topology they are routed
 * Knex instances (see `routePool`).
 */
export interface Router {
  readonly kind: 'single' | 'replicas' | 'nodes';
  /** `undefined` for replicas without a primary: such a database only reads. */
  readonly writer: Knex | undefined;
  readonly reader: Knex;
  /** Every member's Knex instance, the routed ones included, for `close()`. */
  readonly members: readonly Knex[];
}

export function singleRouter(knex: Knex): Router {
  return Object.freeze({ kind: 'single', writer: knex, reader: knex, members: Object.freeze([knex]) });
}
