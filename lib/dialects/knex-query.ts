import { dirname } from 'node:path';
import type { KnexClientQuery, KnexQueryObject } from './dialect-adapter';

// Knex's own steps around a client's _query(), as client.query() runs them.
/* eslint-disable @typescript-eslint/no-require-imports */
const executioner = require('knex/lib/execution/internal/query-executioner') as {
  formatQuery(sql: string, bindings: readonly unknown[], timeZone: undefined, client: object): string;
};

interface Debugger {
  (formatter: unknown, ...args: unknown[]): void;
  readonly enabled: boolean;
}
// Knex's own debug namespaces, from the copy of `debug` Knex loads, so that
// DEBUG=knex:query shows the library's statements as it shows Knex's.
const createDebug = require(require.resolve('debug', { paths: [dirname(require.resolve('knex'))] })) as (namespace: string) => Debugger;
const debugQuery = createDebug('knex:query');
const debugBindings = createDebug('knex:bindings');

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
  emit(event: 'query' | 'query-error', ...args: unknown[]): void;
  prepBindings(bindings: readonly unknown[]): readonly unknown[];
  positionBindings(sql: string): string;
}

interface ConnectionIds {
  readonly __knexUid?: unknown;
  readonly __knexTxId?: unknown;
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
export function queryWithDriver(client: KnexClientQuery, connection: object, obj: KnexQueryObject, call: DriverCall, recovers?: (err: unknown) => boolean): Promise<KnexQueryObject> {
  const events = client as unknown as KnexClientEvents;
  const ids = connection as ConnectionIds;
  // Knex's enrichQueryObject(), step for step; the event's copy of the query
  // is built as one literal of the fields a prepared statement's query
  // object has, rather than Object.assign()ed, once per save.
  obj.bindings = events.prepBindings(obj.bindings);
  obj.sql = events.positionBindings(obj.sql);
  events.emit('query', eventCopy(ids, obj));
  if (debugQuery.enabled) debugQuery(obj.sql.replace(/%/g, '%%'), ids.__knexTxId);
  if (debugBindings.enabled) debugBindings(obj.bindings, ids.__knexTxId);
  return call(connection, obj, (err) => {
    // A failure the caller answers by running the statement another way is not the query's: no query-error.
    if (recovers !== undefined && recovers(err)) return err;
    if (err instanceof Error) {
      const sql = events.config?.compileSqlOnError === false ? obj.sql : executioner.formatQuery(obj.sql, obj.bindings, undefined, client);
      err.message = `${sql} - ${err.message}`;
    }
    events.emit('query-error', err, eventCopy(ids, obj));
    return err;
  });
}

/** What Knex hands `query` listeners: the query object with the connection's ids, taken before the driver answers. */
function eventCopy(ids: ConnectionIds, obj: KnexQueryObject): object {
  return { __knexUid: ids.__knexUid, __knexTxId: ids.__knexTxId, sql: obj.sql, bindings: obj.bindings, method: obj.method, returning: obj.returning, options: obj.options, prepare: obj.prepare };
}
