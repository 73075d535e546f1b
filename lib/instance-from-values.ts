import type { ModelMeta } from './model-meta';
import { pendingAdoption as pending } from './row-adopter';

type Values = Record<string, unknown>;

/**
 * @internal A saved instance of `cls` whose values and dirty-tracking
 * baseline are `values` (already clean, and now owned by the instance),
 * built the way a load builds one: for `restore()` and a conflict's
 * resolution.
 */
export function instanceFromValues<T>(cls: new () => T, meta: ModelMeta, values: Values): T {
  try {
    pending.orig = meta.snapshotMutable(values);
    pending.row = values;
    return new cls();
  } finally {
    pending.row = undefined;
    pending.orig = undefined;
  }
}
