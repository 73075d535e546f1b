import { UsageError, ValidationError } from './errors';
import { Model } from './model';
import { metaOf } from './model-registry';
import type { Attributes, ModelClass } from './model-types';
import { unknownField } from './model-definition-errors';
import { instanceFromValues } from './instance-from-values';

type Values = Record<string, unknown>;

/**
 * A saved instance rebuilt from values kept outside the database (the hidden
 * fields of a form, a client's copy): every field, the primary key and the
 * version included, each validated like an assignment. It is as if it had
 * just been loaded at that version: assign the user's changes and `save()`,
 * and the compare-and-swap checks the version the user saw; on a conflict,
 * the report's `original` is what the user saw. Nothing is read or written.
 *
 * @example
 * ```ts
 * // The edit form carried what it showed (JSON in a hidden field) and a signed version.
 * const { version } = verifyVersion(req.body._version, secret, Product);
 * const p = restore(Product, { ...JSON.parse(req.body._original), version });
 * p.name = req.body.name;
 * await p.save(); // RecordModifiedError if anyone saved since the form was shown
 * ```
 */
export function restore<T extends Model>(Model_: ModelClass<T>, values: Partial<Attributes<T>> | Record<string, unknown>): T {
  if (!(typeof Model_ === 'function' && Model_.prototype instanceof Model)) throw new UsageError('restore() takes a model class and its values');
  const meta = metaOf(Model_);
  if (values === null || typeof values !== 'object' || Array.isArray(values)) throw new UsageError(`restore(${meta.modelName}, values) takes an object of field values`);
  const given = values as Values;
  for (const key of Object.keys(given)) if (!meta.byName.has(key)) throw unknownField(meta, key);
  const clean: Values = {};
  for (const f of meta.fields) {
    if (!(f.name in given) || given[f.name] === undefined) {
      throw new ValidationError(meta.modelName, f.name, 'is missing: restore() needs every field, the primary key and the version included, as they were loaded');
    }
    clean[f.name] = f.field.clean(given[f.name], meta.modelName, f.name);
  }
  if (clean[meta.pk.name] === null) throw new ValidationError(meta.modelName, meta.pk.name, 'restore() needs the primary key of a saved row');
  if (meta.version !== undefined && clean[meta.version.name] === null) throw new ValidationError(meta.modelName, meta.version.name, 'restore() needs the version the values were loaded at');
  return instanceFromValues(Model_, meta, clean);
}
