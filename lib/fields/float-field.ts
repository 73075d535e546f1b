import { Field, FieldProblem, FieldOptions } from './field';

/**
 * A floating-point column. `NaN` and infinities are refused: no database
 * stores them portably.
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), price: new FloatField({ default: 0 }) };
 * ```
 */
// `O` defaults to `{}` (no options): a field declared without a default is required by `create()`'s type.
export class FloatField<O extends FieldOptions<number> = {}> extends Field<number, O> {
  readonly typeName: string = 'number';

  protected check(value: unknown): number | FieldProblem {
    if (typeof value !== 'number') return new FieldProblem('expected a number');
    if (!Number.isFinite(value)) return new FieldProblem('expected a finite number (NaN and Infinity cannot be stored)');
    return value;
  }

  override fromDb(raw: unknown): number | null {
    // `numeric`/`decimal` columns come back as strings from node-postgres and mysql2.
    if (raw === null || raw === undefined) return null;
    return typeof raw === 'number' ? raw : Number(raw);
  }
}
