import { Field, FieldProblem, FieldOptions } from './field';
import type { DialectAdapter } from '../dialects/dialect-adapter';

const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A timestamp column holding a `Date`. ISO-8601 strings are accepted on
 * assignment and converted. Store it in a column with millisecond precision
 * (`table.timestamp(name, { precision: 3 })`) or the database truncates it.
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), placedAt: new DateTimeField({ column: 'placed_at', default: () => new Date() }) };
 * ```
 */
// `O` defaults to `{}` (no options): a field declared without a default is required by `create()`'s type.
export class DateTimeField<O extends FieldOptions<Date> = {}> extends Field<Date, O> {
  readonly typeName: string = 'Date';

  protected check(value: unknown): Date | FieldProblem {
    let date: Date;
    if (value instanceof Date) date = value;
    else if (typeof value === 'string' && ISO_DATE.test(value)) date = new Date(value);
    else return new FieldProblem('expected a Date or an ISO-8601 string');
    if (Number.isNaN(date.getTime())) return new FieldProblem('expected a valid date');
    return date;
  }

  override get mutable(): boolean {
    return true;
  }

  override problemIn(value: Date, adapter: DialectAdapter): string | undefined {
    const range = adapter.dateRange;
    const t = value.getTime();
    if (range === undefined || (t >= range.min && t <= range.max)) return undefined;
    return `${value.toISOString()} is out of range: ${range.description}; nothing was written`;
  }

  override columnProblem(columnType: string, adapter: DialectAdapter): string | undefined {
    const range = adapter.narrowDateTypes.get(columnType.toLowerCase());
    if (range === undefined) return undefined;
    return `a DateTimeField on a ${columnType} column: ${range.description} (the server refuses other dates); make it a datetime column (t.datetime(name, { precision: 3 }) in a migration)`;
  }

  override fromDb(raw: unknown): Date | null {
    if (raw === null || raw === undefined) return null;
    if (raw instanceof Date) return raw;
    // SQLite hands back what node-sqlite3 stored for a Date: epoch milliseconds.
    if (typeof raw === 'number') return new Date(raw);
    const s = String(raw);
    return new Date(/^\d+(\.\d+)?$/.test(s) ? Number(s) : s);
  }

  override snapshot(value: Date | null): unknown {
    return value === null ? null : value.getTime();
  }

  override fromSnapshot(snapshot: unknown): Date | null {
    return snapshot === null ? null : new Date(snapshot as number);
  }
}
