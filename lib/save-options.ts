import { UsageError } from './errors';
import { unknownField } from './model-definition-errors';
import type { ModelMeta } from './model-meta';

const KNOWN = new Set(['fields']);

/**
 * Refuses `save()` options that cannot mean anything, before any SQL:
 * `save(null)` (a TypeError deep inside otherwise), `save({ fields: 'name' })`
 * (a string would be read character by character), a misspelt option
 * (`{ field: [...] }` would silently save every changed field), unknown
 * field names.
 */
export function checkSaveOptions(meta: ModelMeta, options: unknown): void {
  if (options === undefined) return;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new UsageError(`${usage(meta)}, not ${describeArg(options)}`);
  for (const key of Object.keys(options)) if (!KNOWN.has(key)) throw new UsageError(`${usage(meta)}; unknown option ${JSON.stringify(key)}`);
  const fields = (options as { fields?: unknown }).fields;
  if (fields === undefined) return;
  if (!Array.isArray(fields)) throw new UsageError(`${usage(meta)}: fields must be an array of field names, not ${describeArg(fields)}`);
  for (const name of fields) {
    if (typeof name !== 'string') throw new UsageError(`${usage(meta)}: fields must hold field names (strings), not ${describeArg(name)}`);
    if (!meta.byName.has(name)) throw unknownField(meta, name);
  }
}

// Built only for an error: the check runs on every save.
function usage(meta: ModelMeta): string {
  return `${meta.modelName}.save() takes no argument or { fields: ['name', ...] }`;
}

function describeArg(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `the string ${JSON.stringify(value)}` : `a ${typeof value}`;
}
