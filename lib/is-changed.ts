import { Model, rowIdentity } from './model';
import { currentVersion } from './persistence/row-reads';
import { schemaAtFirstUse } from './schema-at-first-use';

/**
 * Resolves `true` when the row's version differs from the one the instance
 * holds, or the row is gone: a save would conflict. One indexed read. Also
 * `true`, without a read, for an instance that deleted its own row, and for
 * one that must be refreshed first (loaded in a transaction that rolled back).
 *
 * @example
 * ```ts
 * if (await isChanged(product)) await product.refresh();
 * ```
 */
export async function isChanged(instance: Model): Promise<boolean> {
  const { db, meta, pk, version, uncertain, deleted } = rowIdentity(instance, 'isChanged');
  // It deleted its own row: the row is gone (a re-created one is another row).
  if (deleted) return true;
  // Its version may never have been committed: only a refresh can tell.
  if (uncertain) return true;
  const session = db.session('isChanged()');
  try {
    const first = schemaAtFirstUse(db, meta, session);
    if (first !== undefined) await first;
    const actual = await currentVersion(db, session, meta, pk);
    return actual === null || actual !== version;
  } finally {
    session.end();
  }
}
