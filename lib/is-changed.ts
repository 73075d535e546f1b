import { Model, rowIdentity } from './model';
import { currentVersion } from './persistence/row-reads';

/**
 * Resolves `true` when the row's version differs from the one the instance
 * holds, or the row is gone: a save would conflict. One indexed read. Also
 * `true`, without a read, for an instance that must be refreshed first (loaded
 * in a transaction that rolled back).
 *
 * @example
 * ```ts
 * if (await isChanged(product)) await product.refresh();
 * ```
 */
export async function isChanged(instance: Model): Promise<boolean> {
  const { db, meta, pk, version, uncertain } = rowIdentity(instance, 'isChanged');
  // Its version may never have been committed: only a refresh can tell.
  if (uncertain) return true;
  const session = db.session('isChanged()');
  try {
    const actual = await currentVersion(db, session, meta, pk);
    return actual === null || actual !== version;
  } finally {
    session.end();
  }
}
