import { AsyncLocalStorage } from 'node:async_hooks';

// Its own storage rather than a field of the transaction scope: it is
// orthogonal to transactions and overrides, and entering either keeps it.
const storage = new AsyncLocalStorage<ReadonlySet<object>>();

/** Whether reads of `db` must go to its primary here (inside `db.primary(fn)`). */
export function readsFromPrimary(db: object): boolean {
  return storage.getStore()?.has(db) ?? false;
}

/**
 * Runs `fn` with every read of `db` sent to its primary. Callbacks created
 * inside (timers, unawaited promises) keep reading from the primary after
 * `fn` settles: harmless, since a primary read is never staler.
 */
export function withPrimaryReads<T>(db: object, fn: () => T): T {
  const outer = storage.getStore();
  if (outer?.has(db)) return fn();
  return storage.run(new Set([...(outer ?? []), db]), fn);
}
