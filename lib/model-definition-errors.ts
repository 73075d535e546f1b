import { ModelDefinitionError, UsageError, ValidationError } from './errors';
import type { ModelMeta } from './model-meta';

/** A name that is not a field of the model, with the names that are. */
export function unknownField(meta: ModelMeta, key: string): ValidationError {
  const known = meta.fields.map((f) => f.name).join(', ');
  return new ValidationError(meta.modelName, key, `unknown field (${meta.modelName} has ${known})`);
}

/** A class field that shadows a model field: the fix is `declare`. */
export function shadowingError(meta: ModelMeta, key: string): ModelDefinitionError {
  return new ModelDefinitionError(
    meta.modelName,
    `"${key}" is a class field, which hides the model's accessor and its value; write it as \`declare ${key}: ...;\` instead`,
  );
}

/**
 * `new Article({ title })` from plain JavaScript (TypeScript refuses it):
 * constructors take no attributes, and silently dropping them would save an
 * empty record.
 */
export function constructorArguments(cls: Function): UsageError {
  const name = cls.name || 'Model';
  return new UsageError(`new ${name}(...) takes no attributes; use ${name}.create({ ... }), or new ${name}(), assign the attributes, then save()`);
}
