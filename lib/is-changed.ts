import { Model, rowIdentity } from './model';
import { currentVersion } from './persistence';

/**
 * Resolves `true` when the row's version differs from the one the instance
 * holds, or the row is gone: a save would conflict. One indexed read.
 *
 * @example
 * ```ts
 * if (await isChanged(product)) await product.refresh();
 * ```
 */
export async function isChanged(instance: Model): Promise<boolean> {
  const { db, meta, pk, version } = rowIdentity(instance, 'isChanged');
  const actual = await currentVersion(db, db.runner(), meta, pk);
  return actual === null || actual !== version;
}
