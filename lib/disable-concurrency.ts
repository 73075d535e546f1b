import { UsageError } from './errors';
import { Model } from './model';
import { withOverride } from './transactions/scope';

/**
 * Runs `fn` with version checks switched off: saves and deletes inside it
 * write without comparing versions (the version still rises, so copies
 * loaded earlier still conflict later). Pass a model class (covers its
 * subclasses) or one instance to limit it to those. The switch is scoped to
 * `fn` and everything it awaits, so concurrent requests are unaffected.
 * Returns what `fn` returns.
 *
 * @example
 * ```ts
 * await disableConcurrency(Product, async () => {
 *   await importedProduct.save(); // last writer wins, on purpose
 * });
 * ```
 */
export function disableConcurrency<T>(fn: () => T): T;
export function disableConcurrency<T>(target: (abstract new () => Model) | Model, fn: () => T): T;
export function disableConcurrency<T>(...args: unknown[]): T {
  const [target, fn] = scopeArguments<T>('disableConcurrency', args);
  return withOverride('check', target, fn);
}

/** Parses `(fn)` or `(target, fn)` for the scoped concurrency switches. */
export function scopeArguments<T>(name: string, args: unknown[]): [object | undefined, () => T] {
  const [first, second] = args;
  if (args.length === 1 && typeof first === 'function' && !isModelClass(first)) return [undefined, first as () => T];
  if (args.length === 2 && typeof second === 'function' && (isModelClass(first) || first instanceof Model)) return [first as object, second as () => T];
  throw new UsageError(`${name}() takes (fn) or (ModelClass | instance, fn)`);
}

function isModelClass(value: unknown): boolean {
  return typeof value === 'function' && value.prototype instanceof Model;
}
