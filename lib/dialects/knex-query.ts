import type { KnexClientQuery, KnexQueryObject } from './dialect-adapter';

// Knex's own steps around a client's _query(), as client.query() runs them.
/* eslint-disable @typescript-eslint/no-require-imports */
const executioner = require('knex/lib/execution/internal/query-executioner') as {
  enrichQueryObject(connection: object, obj: KnexQueryObject, client: object): KnexQueryObject;
  formatQuery(sql: string, bindings: readonly unknown[], timeZone: undefined, client: object): string;
};

/**
 * Runs a statement on the connection with a driver call of the adapter's own,
 * filling in `obj.response`/`obj.context`; resolves with `obj`, or rejects
 * with the driver's error passed through `failed` (Knex's reporting: see
 * `queryWithDriver`), which the call applies itself rather than leave to a
 * `.catch()`: one promise fewer on every save.
 */
export type DriverCall = (connection: object, obj: KnexQueryObject, failed: (err: unknown) => unknown) => Promise<KnexQueryObject>;

interface KnexClientEvents {
  readonly config?: { compileSqlOnError?: boolean };
  emit(event: 'query-error', err: unknown, obj: object): void;
}

/**
 * Runs `obj` on a connection Knex lent exactly as Knex's `client.query()`
 * does (the client prepares the bindings, emits `query`, and on failure puts
 * the SQL in the message and emits `query-error`), except that `call`, the
 * driver's prepared statement, takes the place of the client's `_query()`.
 * This is how a Knex instance the caller built gets the library's prepared
 * statements: its client class is neither replaced nor patched, and its
 * `query` listeners, `wrapIdentifier` and `postProcessResponse` work as
 * before (the library's own statements never went through the latter).
 */
export function queryWithDriver(client: KnexClientQuery, connection: object, obj: KnexQueryObject, call: DriverCall): Promise<KnexQueryObject> {
  const query = executioner.enrichQueryObject(connection, obj, client);
  return call(connection, query, (err) => {
    const events = client as unknown as KnexClientEvents;
    if (err instanceof Error) {
      const sql = events.config?.compileSqlOnError === false ? query.sql : executioner.formatQuery(query.sql, query.bindings, undefined, client);
      err.message = `${sql} - ${err.message}`;
    }
    const ids = connection as { __knexUid?: unknown; __knexTxId?: unknown };
    events.emit('query-error', err, { __knexUid: ids.__knexUid, __knexTxId: ids.__knexTxId, ...query });
    return err;
  });
}
