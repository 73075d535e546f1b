import { EQUALITY, type QueryOperators } from './query-operators';
import { Field, FieldProblem } from './field';

/**
 * A boolean column. SQLite and MySQL store it as 0/1; it always reads back as `true`/`false`.
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), paid: new BooleanField({ default: false }) };
 * ```
 */
export class BooleanField extends Field<boolean> {
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
