import type { DialectAdapter } from '../dialects/dialect-adapter';
import { ValidationError } from '../errors';
import { ORDERED, type QueryOperators } from './query-operators';

/** Options every field accepts. */
export interface FieldOptions<T> {
  /** Column name when it differs from the property name. */
  column?: string;
  /** Whether `null` is an allowed value (default `false`). */
  null?: boolean;
  /** Value given to new instances: a constant, or a function called once per instance. */
  default?: T | (() => T);
  /** Marks the primary key (an `AutoField` is one already). */
  primaryKey?: boolean;
  /**
   * Keeps the value out of every serialized conflict report (`JSON.stringify`
   * of a `RecordModifiedError`, the HTTP 409 problem document): a password
   * hash, a token, personal data.
   */
  private?: boolean;
}

/** Raised by `Field.check` with a short reason; the model turns it into a `ValidationError` naming the field. */
export class FieldProblem {
  /** `describesValue`: the reason already says what the value was, so messages do not repeat it. */
  constructor(
    readonly reason: string,
    readonly describesValue = false,
  ) {}
}

/**
 * Base of every field. A field knows how to validate a value before any SQL
 * runs (`clean`), how to turn a driver value into a JavaScript one
 * (`fromDb`) and back (`toDb`), and how to compare values for dirty tracking.
 *
 * A field holds no per-model state (its property and column names live in the
 * model's compiled metadata), so one field object may serve several models.
 */
export abstract class Field<T = unknown, O extends FieldOptions<T> = FieldOptions<T>> {
  /**
   * The options as given. Their type `O` is inferred from the constructor's
   * argument, which lets `create()`'s type require the fields that have no
   * default and do not allow `null`.
   */
  readonly options: Readonly<O>;

  constructor(options: O = {} as O) {
    this.options = Object.freeze({ ...options });
  }

  /** Human name of the accepted type, used in messages. */
  abstract readonly typeName: string;

  get nullable(): boolean {
    return this.options.null === true;
  }

  get primaryKey(): boolean {
    return this.options.primaryKey === true;
  }

  /** Whether the value is left out of serialized conflict reports. */
  get private(): boolean {
    return this.options.private === true;
  }

  /** True when the database generates the value on insert (auto-increment keys). */
  get generated(): boolean {
    return false;
  }

  /**
   * True when values can be changed in place (`tags.push(x)`, `date.setTime(t)`),
   * so dirty tracking must compare snapshots instead of trusting the setter.
   */
  get mutable(): boolean {
    return false;
  }

  /**
   * True when the values are floating-point numbers, which a database keeps
   * in its float type: a dialect that packs loaded rows encodes those
   * columns for them (see `PackedRows`).
   */
  get floatingPoint(): boolean {
    return false;
  }

  /** The operators a query may compare this field with (`where(name, op, value)`); equality and ordering by default. */
  get operators(): QueryOperators {
    return ORDERED;
  }

  /** Whether a query may sort by this field. */
  get orderable(): boolean {
    return this.operators.has('<');
  }

  hasDefault(): boolean {
    return this.options.default !== undefined;
  }

  defaultValue(): T | null {
    const d = (this.options as FieldOptions<T>).default;
    if (d === undefined) return null;
    return typeof d === 'function' ? (d as () => T)() : d;
  }

  /**
   * Validates and normalises a value assigned by the caller. Throws
   * `ValidationError` naming the field; never touches the database.
   */
  clean(value: unknown, model: string, name: string): T | null {
    if (value === undefined) {
      throw new ValidationError(model, name, 'undefined is not a value: assign null to clear the field, or leave it out', value);
    }
    if (value === null) {
      if (this.nullable || this.generated) return null;
      throw new ValidationError(model, name, `null is not allowed (declare the field with { null: true } to allow it)`, value);
    }
    const checked = this.check(value);
    if (checked instanceof FieldProblem) {
      throw new ValidationError(model, name, checked.describesValue ? checked.reason : `${checked.reason} (got ${describe(value)})`, value);
    }
    return checked;
  }

  /** Type check for a non-null value; returns the normalised value or a problem. */
  protected abstract check(value: unknown): T | FieldProblem;

  /**
   * Validates a value compared against this field in a query. Types are
   * checked as for assignment; limits that only guard storage (a maximum
   * length) are not, since a longer value simply matches nothing.
   */
  cleanForQuery(value: unknown, model: string, name: string): T | null {
    if (value === null) return null;
    if (value === undefined) throw new ValidationError(model, name, 'undefined is not a value to compare with: use null or leave the condition out', value);
    const checked = this.checkForQuery(value);
    if (checked instanceof FieldProblem) {
      throw new ValidationError(model, name, checked.describesValue ? checked.reason : `${checked.reason} (got ${describe(value)})`, value);
    }
    return checked;
  }

  protected checkForQuery(value: unknown): T | FieldProblem {
    return this.check(value);
  }

  /**
   * How a SELECT reads this field's column (`quotedColumn`, already quoted):
   * the column itself, or an expression the adapter supplies when the
   * driver's own reading of the column would lose information (JSON).
   */
  selectExpression(quotedColumn: string, _adapter: DialectAdapter): string {
    return quotedColumn;
  }

  /**
   * A problem storing a valid, non-null value in this database (a date out of
   * its range), or `undefined`. Runs before any SQL once the database is known.
   */
  problemIn(_value: T, _adapter: DialectAdapter): string | undefined {
    return undefined;
  }

  /**
   * A problem with storing this field in a column of `columnType` (as Knex's
   * `columnInfo()` names it) on this database, or `undefined`. Checked by
   * `checkFieldColumns()` and `bin/migrate columns check`, not on every save.
   */
  columnProblem(_columnType: string, _adapter: DialectAdapter): string | undefined {
    return undefined;
  }

  /** Driver value -> JavaScript value. */
  fromDb(raw: unknown): T | null {
    return raw as T | null;
  }

  /** JavaScript value -> binding for the driver. */
  toDb(value: T | null): unknown {
    return value;
  }

  /** A comparable snapshot for dirty tracking of mutable values. */
  snapshot(value: T | null): unknown {
    return value;
  }

  /** The value a snapshot was taken of (a fresh copy for a mutable value). */
  fromSnapshot(snapshot: unknown): T | null {
    return snapshot as T | null;
  }
}

/** A short, safe description of a value for error messages. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return value.length > 40 ? `a string of ${[...value].length} characters` : JSON.stringify(value);
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${typeof value} ${String(value)}`;
    case 'symbol':
      return 'a symbol';
    case 'function':
      return 'a function';
    case 'undefined':
      return 'undefined';
    default:
      if (Array.isArray(value)) return 'an array';
      if (value instanceof Date) return 'a Date';
      return 'an object';
  }
}
