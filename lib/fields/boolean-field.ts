import { Field, FieldProblem, FieldOptions } from './field';
import { EQUALITY, type QueryOperators } from './query-operators';

/**
 * A boolean column. SQLite and MySQL store it as 0/1; it always reads back as `true`/`false`.
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), paid: new BooleanField({ default: false }) };
 * ```
 */
// `O` defaults to `{}` (no options): a field declared without a default is required by `create()`'s type.
export class BooleanField<O extends FieldOptions<boolean> = {}> extends Field<boolean, O> {
  readonly typeName: string = 'boolean';

  override get operators(): QueryOperators {
    return EQUALITY;
  }

  protected check(value: unknown): boolean | FieldProblem {
    if (typeof value !== 'boolean') return new FieldProblem('expected true or false');
    return value;
  }

  override fromDb(raw: unknown): boolean | null {
    if (raw === null || raw === undefined) return null;
    if (typeof raw === 'boolean') return raw;
    // SQLite and MySQL hand back 0/1 (and MySQL's BIT(1) a Buffer).
    if (Buffer.isBuffer(raw)) return raw.length > 0 && raw[0] !== 0;
    return Number(raw) !== 0;
  }
}
