import { Field, FieldProblem, FieldOptions } from './field';
import { DatabaseValueError } from '../errors';

/** Converts a driver integer (node-postgres returns `bigint` columns as strings) to a safe JavaScript number. */
export function integerFromDb(raw: unknown): number | null {
  if (raw === null || raw === undefined) return null;
  const n = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isSafeInteger(n)) {
    throw new DatabaseValueError({
      value: String(raw),
      message:
        `The integer ${String(raw)} read from the database is beyond JavaScript's safe integers (+-${Number.MAX_SAFE_INTEGER}), where numbers lose precision; ` +
        `nothing was written. Other SQL wrote it: bring the column back within that range, or read it with your own SQL as text.`,
    });
  }
  return n;
}

export function checkInteger(value: unknown): number | FieldProblem {
  if (typeof value === 'bigint') {
    const n = Number(value);
    return Number.isSafeInteger(n) ? n : new FieldProblem('expected a safe integer (beyond +-2^53 precision is lost)');
  }
  if (typeof value !== 'number') return new FieldProblem('expected an integer');
  if (Number.isNaN(value) || !Number.isFinite(value)) return new FieldProblem('expected a finite integer');
  if (!Number.isInteger(value)) return new FieldProblem('expected an integer, not a fraction');
  if (!Number.isSafeInteger(value)) return new FieldProblem('expected a safe integer (beyond +-2^53 precision is lost)');
  return value;
}

/**
 * An integer column. Accepts safe integers only: no fractions (MySQL would
 * round 1.5 to 2), no `NaN`, no strings.
 *
 * @example
 * ```ts
 * static fields = { stock: new IntegerField({ default: 0 }) };
 * ```
 */
// `O` defaults to `{}` (no options): a field declared without a default is required by `create()`'s type.
export class IntegerField<O extends FieldOptions<number> = {}> extends Field<number, O> {
  readonly typeName: string = 'integer';

  protected check(value: unknown): number | FieldProblem {
    return checkInteger(value);
  }

  override fromDb(raw: unknown): number | null {
    return integerFromDb(raw);
  }
}
