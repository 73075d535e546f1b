import type { Knex } from 'knex';

interface PoolClient {
  acquireConnection(): Promise<object>;
  releaseConnection(connection: object): Promise<unknown>;
}

/**
 * One server of a topology: its own Knex instance and pool, and the
 * acquire and release of that pool, taken before a routed pool (see
 * `routePool`) may take over its client's.
 */
export interface Member {
  readonly knex: Knex;
  /** Where it is, for messages: a URL without its password, or host:port. */
  readonly label: string;
  acquire(): Promise<object>;
  release(connection: object): Promise<unknown>;
}

export function memberOf(knex: Knex, label: string): Member {
  const client = knex.client as unknown as PoolClient;
  const acquire = client.acquireConnection;
  const release = client.releaseConnection;
  return Object.freeze({
    knex,
    label,
    acquire: (): Promise<object> => acquire.call(client),
    release: (connection: object): Promise<unknown> => release.call(client, connection),
  });
}
