/** What keeps the event loop alive while a driver connection sits idle in the pool. */
export interface IdleHandle {
  ref(): void;
  unref(): void;
}

interface MaybeSocket {
  ref?: unknown;
  unref?: unknown;
}

/**
 * The socket of a driver connection, or `undefined` when it has none:
 * node-postgres' `Client` keeps it at `connection.stream`, mysql2's
 * `Connection` at `stream`; sqlite3 has none (a query in flight holds the
 * event loop through libuv's work queue, an idle database holds nothing).
 */
export function idleHandleOf(connection: object): IdleHandle | undefined {
  const c = connection as { stream?: MaybeSocket; connection?: { stream?: MaybeSocket } };
  const socket = c.stream ?? c.connection?.stream;
  if (socket === undefined || typeof socket.ref !== 'function' || typeof socket.unref !== 'function') return undefined;
  return socket as IdleHandle;
}
