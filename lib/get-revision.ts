import { UsageError } from './errors';
import { Model } from './model';
import { metaOf } from './model-registry';

/**
 * The version an instance holds (the one its next save checks), or
 * `undefined` for an instance never saved. Works for any model with a
 * version field, including one added with `applyConcurrencyCheck` that the
 * class's type does not declare. Handy for an `ETag`.
 *
 * @example
 * ```ts
 * res.setHeader('ETag', `"${getRevision(product)}"`);
 * ```
 */
export function getRevision(instance: Model): number | undefined {
  if (!(instance instanceof Model)) throw new UsageError('getRevision() takes a model instance');
  const meta = metaOf(instance.constructor);
  const version = meta.version;
  if (version === undefined) throw new UsageError(`getRevision(): ${meta.modelName} has no version field; add one with applyConcurrencyCheck(${meta.modelName}, 'version', AutoIncVersionField)`);
  const held = (instance as unknown as Record<string, unknown>)[version.name];
  return held === undefined || held === null ? undefined : (held as number);
}
