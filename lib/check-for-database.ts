import type { DialectAdapter } from './dialects/dialect-adapter';
import { ValidationError } from './errors';
import type { FieldBinding, ModelMeta } from './model-meta';

/**
 * Refuses, before any SQL, a value that is valid for its field but that this
 * database would store as something else (`Field.problemIn`: a date outside
 * MySQL's DATETIME range). Assignments are checked without knowing the
 * database; this runs once the write or query knows it.
 */
export function checkForDatabase(adapter: DialectAdapter, meta: ModelMeta, fields: readonly FieldBinding[], values: Readonly<Record<string, unknown>>): void {
  for (const f of fields) checkValueForDatabase(adapter, meta, f, values[f.name]);
}

/** The same check for one value compared or set by a query. */
export function checkValueForDatabase(adapter: DialectAdapter, meta: ModelMeta, f: FieldBinding, value: unknown): void {
  if (value === null || value === undefined) return;
  const problem = f.field.problemIn(value as never, adapter);
  if (problem !== undefined) throw new ValidationError(meta.modelName, f.name, problem, value);
}
