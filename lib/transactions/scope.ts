import { AsyncLocalStorage } from 'node:async_hooks';
import type { StatementLane } from './statement-lane';
import type { TransactionFrame } from './transaction-frame';

/** A concurrency control switched off for a target inside a `disableConcurrency`-style scope. */
export interface Override {
  /** `'check'`: skip the version check; `'increment'`: keep the version as it is. */
  readonly kind: 'check' | 'increment';
  /** `undefined` for everything, else a model class (and its subclasses) or one instance. */
  readonly target: object | undefined;
  readonly parent: Override | undefined;
  /**
   * Set when the function that switched it off has settled. AsyncLocalStorage
   * hands a scope to every callback created inside it (timers, event
   * handlers, unawaited promises), so without this mark a timer set inside
   * `disableConcurrency(fn)` would still write unchecked long after `fn`.
   */
  readonly ended: { value: boolean };
}

/**
 * What model calls inherit from the code that called them, however deep:
 * the open transactions, the concurrency overrides, the statement lane whose
 * task is running, and the databases read from their primary. Scopes are
 * immutable; entering any of these makes a new one that keeps the others,
 * so concurrent requests never see each other's.
 */
export interface Scope {
  readonly frame: TransactionFrame | undefined;
  readonly overrides: Override | undefined;
  /** The statement lane whose task runs here (see StatementLane). */
  readonly lane?: StatementLane;
  /** The databases whose reads go to their primary here (see withPrimaryReads). */
  readonly primaryReads?: ReadonlySet<object>;
}

// One storage for all four: while any AsyncLocalStorage is in use, Node
// runs a hook for every promise created, once per storage, and a save
// creates a dozen promises (measured: a second storage added a third to the
// instructions of a save on SQLite).
const storage = new AsyncLocalStorage<Scope>();

export function currentScope(): Scope | undefined {
  return storage.getStore();
}

/** Runs `fn` in the current scope with some of its parts replaced. */
export function runWith<T>(parts: Partial<Scope>, fn: () => T): T {
  const scope = storage.getStore();
  return storage.run({ frame: scope?.frame, overrides: scope?.overrides, lane: scope?.lane, primaryReads: scope?.primaryReads, ...parts }, fn);
}

/** Whether a control of `kind` is switched off for `instance` in the current scope. */
export function isOverridden(scope: Scope | undefined, kind: Override['kind'], instance: object): boolean {
  for (let o = scope?.overrides; o !== undefined; o = o.parent) {
    if (o.kind !== kind || o.ended.value) continue;
    if (o.target === undefined || o.target === instance) return true;
    if (typeof o.target === 'function' && instance instanceof (o.target as new () => object)) return true;
  }
  return false;
}

/**
 * Runs `fn` with a control switched off for `target`. The switch ends when
 * `fn` settles (returns, throws, or its promise settles): callbacks that run
 * later, though created inside, see the controls as they were.
 */
export function withOverride<T>(kind: Override['kind'], target: object | undefined, fn: () => T): T {
  const scope = currentScope();
  const ended = { value: false };
  const end = (): void => {
    ended.value = true;
  };
  let result: T;
  try {
    result = runWith({ overrides: { kind, target, parent: scope?.overrides, ended } }, fn);
  } catch (err) {
    end();
    throw err;
  }
  if (isThenable(result)) {
    return Promise.resolve(result).then(
      (value) => {
        end();
        return value;
      },
      (err: unknown) => {
        end();
        throw err;
      },
    ) as T;
  }
  end();
  return result;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}
