import type { Knex } from 'knex';
import { DatabaseUnavailableError } from '../errors';
import type { Member } from './member';
import type { RoutePolicy } from './route-policy';

interface PoolClient {
  acquireConnection(): Promise<object>;
  releaseConnection(connection: object): Promise<unknown>;
}

/**
 * Makes `front` (the Knex instance of one member) lend connections from the
 * member `policy` picks, each member keeping its own pool: a connection goes
 * back to the pool it came from. When a member cannot give a connection
 * (`DatabaseUnavailableError`: refused, unreachable, shutting down...), the
 * next candidate is asked at once; nothing was sent, so nothing can apply
 * twice. A full pool (`pool-timeout`) is not a reason to move: the server
 * answers, it is only busy.
 *
 * It sits on the client's acquire, where Knex's query runner, its
 * transactions and the library's executor all get their connections, so
 * the routing holds for every statement on `front`, queries of your own
 * included.
 */
export function routePool(front: Knex, members: readonly Member[], policy: RoutePolicy, warn: (message: string) => void): void {
  const client = front.client as unknown as PoolClient;
  const own = members.find((m) => m.knex === front);
  const origin = new WeakMap<object, Member>();
  client.acquireConnection = async function acquireConnection(): Promise<object> {
    let last: unknown;
    for (const member of policy.candidates()) {
      try {
        const connection = await member.acquire();
        origin.set(connection, member);
        return connection;
      } catch (err) {
        if (!(err instanceof DatabaseUnavailableError) || err.reason === 'pool-timeout') throw err;
        last = err;
        const now = policy.unreachable(member);
        if (now !== undefined) warn(`${member.label} is unreachable (${err.reason}); moving to ${now.label}`);
      }
    }
    throw last;
  };
  client.releaseConnection = function releaseConnection(connection: object): Promise<unknown> {
    const member = origin.get(connection) ?? own;
    if (member === undefined) return Promise.resolve();
    return member.release(connection);
  };
}
