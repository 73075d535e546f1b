import type { Knex } from 'knex';
import type { DialectAdapter } from './dialects/dialect-adapter';
import { DatabaseClosedError } from './errors';
import { CONNECTING, translateError } from './translate-error';

interface PoolClient {
  pool: unknown;
  acquireConnection(): Promise<object>;
}

/**
 * Makes every failure to get a connection from the pool of a Knex instance
 * that `connect()` built come out typed, for the library's calls and for
 * queries of your own on `db.knex` alike: a refused connection, a DNS
 * failure, a server starting up or shutting down, credentials or TLS
 * refused at reconnect (`DatabaseUnavailableError`), or a closed database
 * (`DatabaseClosedError`).
 *
 * It sits on the client because Knex acquires connections in several places
 * (its query runner, its transactions, the library's executor), and only
 * here is it certain that nothing was sent yet: the same driver error met
 * under a statement means something else (a write that may have landed).
 */
export function typeAcquireFailures(knex: Knex, adapter: DialectAdapter): void {
  const client = knex.client as unknown as PoolClient;
  const acquire = client.acquireConnection;
  client.acquireConnection = async function acquireConnection(this: PoolClient): Promise<object> {
    if (!this.pool) throw new DatabaseClosedError('A query');
    try {
      return await acquire.call(this);
    } catch (err) {
      // close() destroys the pool, which refuses the acquires still waiting with tarn's plain "aborted".
      if (err instanceof Error && err.message === 'aborted') throw new DatabaseClosedError('A call was waiting for a connection', { cause: err });
      throw translateError(adapter, err, CONNECTING);
    }
  };
}
