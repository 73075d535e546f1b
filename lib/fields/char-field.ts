import { Field, FieldOptions, FieldProblem } from './field';

/** Counts characters (code points), as PostgreSQL and MySQL's utf8mb4 do, not UTF-16 units. */
export function characterCount(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is a single character.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

export function checkString(value: unknown): string | FieldProblem {
  if (typeof value !== 'string') return new FieldProblem('expected a string');
  return value;
}

export interface CharFieldOptions extends FieldOptions<string> {
  /** Maximum length in characters, enforced on every dialect (SQLite would store longer strings). */
  maxLength: number;
}

/**
 * A bounded string column (`varchar(maxLength)`).
 *
 * @example
 * ```ts
 * static fields = { name: new CharField({ maxLength: 100 }) };
 * ```
 */
export class CharField extends Field<string> {
  readonly typeName: string = 'string';
  readonly maxLength: number;

  constructor(options: CharFieldOptions) {
    super(options);
    this.maxLength = options?.maxLength;
  }

  protected check(value: unknown): string | FieldProblem {
    const s = checkString(value);
    if (s instanceof FieldProblem) return s;
    // Only count characters when the UTF-16 length could exceed the limit.
    if (s.length > this.maxLength && characterCount(s) > this.maxLength) {
      return new FieldProblem(`longer than maxLength ${this.maxLength} characters (${characterCount(s)})`);
    }
    return s;
  }

  protected override checkForQuery(value: unknown): string | FieldProblem {
    return checkString(value);
  }
}
