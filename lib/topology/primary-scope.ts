import { currentScope, runWith } from '../transactions/scope';

/** Whether reads of `db` must go to its primary here (inside `db.primary(fn)`). */
export function readsFromPrimary(db: object): boolean {
  return currentScope()?.primaryReads?.has(db) ?? false;
}

/**
 * Runs `fn` with every read of `db` sent to its primary. Callbacks created
 * inside (timers, unawaited promises) keep reading from the primary after
 * `fn` settles: harmless, since a primary read is never staler.
 */
export function withPrimaryReads<T>(db: object, fn: () => T): T {
  // Part of the scope transactions and overrides live in, which keep it.
  const outer = currentScope()?.primaryReads;
  if (outer?.has(db)) return fn();
  return runWith({ primaryReads: new Set([...(outer ?? []), db]) }, fn);
}
