import { scopeArguments } from './disable-concurrency';
import type { Model } from './model';
import { withOverride } from './transactions/scope';

/**
 * Runs `fn` with version increments switched off: saves inside it still
 * check the version (a stale copy still conflicts) but leave it as it is,
 * so copies loaded earlier stay current. For corrections that must not make
 * everyone else's copy stale. Pass a model class (covers its subclasses) or
 * one instance to limit it to those. Scoped to `fn` and everything it
 * awaits, like `disableConcurrency`: every control is back as it was when
 * `fn` settles, and concurrent requests are unaffected. Returns what `fn`
 * returns.
 *
 * A `TriggerVersionField` cannot skip its increment (its trigger fires on
 * every UPDATE): such a save inside is refused with a `UsageError` before
 * any SQL.
 *
 * @example
 * ```ts
 * await disableIncrement(Product, async () => {
 *   p.description = p.description.trim();
 *   await p.save(); // checked, version unchanged
 * });
 * ```
 */
export function disableIncrement<T>(fn: () => T): T;
export function disableIncrement<T>(target: (abstract new () => Model) | Model, fn: () => T): T;
export function disableIncrement<T>(...args: unknown[]): T {
  const [target, fn] = scopeArguments<T>('disableIncrement', args);
  return withOverride('increment', target, fn);
}
