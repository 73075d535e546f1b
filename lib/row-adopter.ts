import type { ModelMeta } from './model-meta';

type Values = Record<string, unknown>;

/**
 * What the model constructor adopts while `compileAdopter`'s loop runs:
 * the hydrated row and the snapshots of its mutable fields. Constructors
 * take no arguments (a subclass may declare its own), so this slot is how a
 * row reaches the instance being built.
 */
export const pendingAdoption: { row: Values | undefined; orig: Values | undefined } = { row: undefined, orig: undefined };

/**
 * Builds, once per model class and row form, the loop that turns a result
 * set into instances: `hydrate` makes each row into the instance's values
 * (`ModelMeta.hydrate` converts an object row in place,
 * `ModelMeta.hydrateArray` builds them from an array row).
 *
 * The loop is generated rather than shared: a shared loop sees every model
 * class at `new Cls()` and every model's hydrator, and V8 then neither
 * inlines nor specialises either; with one function per class both are
 * constants at their sites.
 */
export function compileAdopter<R, T>(cls: new () => T, meta: ModelMeta, hydrate: (row: R) => Values): (rows: readonly R[]) => T[] {
  const snapshot = meta.mutable.length > 0 ? 'snapshot(row)' : 'undefined';
  const source = `return function adopt(rows) {
  const out = new Array(rows.length);
  try {
    for (let i = 0; i < rows.length; i++) {
      const row = hydrate(rows[i]);
      pending.orig = ${snapshot};
      pending.row = row;
      out[i] = new Cls();
    }
  } finally {
    pending.row = undefined;
    pending.orig = undefined;
  }
  return out;
};`;
  const factory = new Function('Cls', 'hydrate', 'snapshot', 'pending', source);
  return factory(cls, hydrate, (row: Values) => meta.snapshotMutable(row), pendingAdoption) as (rows: readonly R[]) => T[];
}
