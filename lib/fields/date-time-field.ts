import { Field, FieldProblem } from './field';

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
export class DateTimeField extends Field<Date> {
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
