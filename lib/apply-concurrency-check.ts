import { ModelDefinitionError, UsageError } from './errors';
import { Field } from './fields/field';
import { isVersionField, VersionField } from './fields/version-field';
import { Model } from './model';
import { fieldsInheritedByCompiledSubclass, forgetMeta } from './model-registry';

/** A version field class (`AutoIncVersionField`) or a configured instance (`new ConditionalVersionField({...})`). */
export type VersionFieldSpec = (new () => VersionField) | VersionField;

/**
 * Adds a version field to a model class defined elsewhere (a library's
 * model, generated code), as if it had declared it in `static fields`. The
 * table needs the column (`addVersionColumn` in a migration). Call it at
 * start-up, before the model is used; calling it again with the same field
 * class is harmless. Read the version with `getRevision(instance)` when the
 * class's type does not declare it.
 *
 * @example
 * ```ts
 * import { Invoice } from 'billing-models';
 * applyConcurrencyCheck(Invoice, 'version', AutoIncVersionField);
 * ```
 */
export function applyConcurrencyCheck(model: abstract new () => Model, fieldName: string, field: VersionFieldSpec): void {
  if (typeof model !== 'function' || !(model.prototype instanceof Model)) throw new UsageError('applyConcurrencyCheck() takes a model class first');
  if (typeof fieldName !== 'string' || fieldName === '') throw new UsageError('applyConcurrencyCheck() needs the name of the version field');
  const isClass = typeof field === 'function' && field.prototype instanceof VersionField;
  if (!isClass && !(field instanceof VersionField)) {
    throw new UsageError('applyConcurrencyCheck() takes a version field class (AutoIncVersionField) or instance as its third argument');
  }
  const statics = model as unknown as { fields?: Record<string, Field> };
  const fields = statics.fields ?? {};
  const existing = fields[fieldName];
  if (existing !== undefined) {
    const same = isClass ? existing.constructor === field : existing === field;
    if (same) return;
    throw new ModelDefinitionError(model.name, `applyConcurrencyCheck(): fields.${fieldName} exists already (a ${existing.constructor.name})`);
  }
  const other = Object.entries(fields).find(([, f]) => isVersionField(f));
  if (other !== undefined) throw new ModelDefinitionError(model.name, `applyConcurrencyCheck(): it has a version field already: ${other[0]}`);
  if (fieldsInheritedByCompiledSubclass(model)) {
    // Their compiled fields would lack the version, and their saves would go unchecked.
    throw new ModelDefinitionError(
      model.name,
      'applyConcurrencyCheck() came after a subclass of this model was used, which would keep saving without the version; call it at start-up, before any subclass is used',
    );
  }
  const instance = isClass ? new (field as new () => VersionField)() : (field as VersionField);
  // An own static, so a parent class defined elsewhere keeps its fields.
  Object.defineProperty(model, 'fields', { value: { ...fields, [fieldName]: instance }, writable: true, configurable: true, enumerable: true });
  forgetMeta(model);
}
