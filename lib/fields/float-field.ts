import { Field, FieldProblem, FieldOptions } from './field';
import type { DialectAdapter } from '../dialects/dialect-adapter';

/**
 * A floating-point column. `NaN` and infinities are refused: no database
 * stores them portably. Store it in a `t.double()` column: Knex's
 * `t.float()` is a 4-byte `real` on PostgreSQL (1234567.891 reads back as
 * 1234567.9) and `float(8,2)` on MySQL (0.125 reads back as 0.12).
 * `checkFieldColumns()` / `bin/migrate columns check` find such columns.
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), price: new FloatField({ default: 0 }) };
 * ```
 */
// `O` defaults to `{}` (no options): a field declared without a default is required by `create()`'s type.
export class FloatField<O extends FieldOptions<number> = {}> extends Field<number, O> {
  readonly typeName: string = 'number';

  override get floatingPoint(): boolean {
    return true;
  }

  protected check(value: unknown): number | FieldProblem {
    if (typeof value !== 'number') return new FieldProblem('expected a number');
    if (!Number.isFinite(value)) return new FieldProblem('expected a finite number (NaN and Infinity cannot be stored)');
    return value;
  }

  override columnProblem(columnType: string, adapter: DialectAdapter): string | undefined {
    if (!adapter.lossyFloatTypes.has(columnType.toLowerCase())) return undefined;
    return `a FloatField on a ${columnType} column: the database rounds JavaScript numbers there (a 4-byte real keeps about 6 digits, float(8,2) and decimal a fixed scale); make it a double column (t.double() in a migration)`;
  }

  override fromDb(raw: unknown): number | null {
    // `numeric`/`decimal` columns come back as strings from node-postgres and mysql2.
    if (raw === null || raw === undefined) return null;
    return typeof raw === 'number' ? raw : Number(raw);
  }
}
