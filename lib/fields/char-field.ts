import { TEXT, type QueryOperators } from './query-operators';
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

// A high surrogate not followed by a low one, or a low one not preceded by a high one.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Why a string cannot be stored exactly as given, or `undefined`. The rule is
 * the same on every database, so that a model tested on SQLite behaves the
 * same on PostgreSQL: PostgreSQL's text and jsonb refuse NUL (SQLite and
 * MySQL would store it), and a lone UTF-16 surrogate has no UTF-8 form, so
 * every driver would silently store U+FFFD instead.
 */
export function unstorableString(s: string): string | undefined {
  if (s.includes('\u0000')) return 'contains a NUL character (U+0000), which PostgreSQL cannot store; it is refused on every database';
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate, which no database can store (it would silently become U+FFFD)';
  return undefined;
}

export function checkString(value: unknown): string | FieldProblem {
  if (typeof value !== 'string') return new FieldProblem('expected a string');
  const problem = unstorableString(value);
  return problem === undefined ? value : new FieldProblem(problem);
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
export class CharField<O extends CharFieldOptions = CharFieldOptions> extends Field<string, O> {
  readonly typeName: string = 'string';

  override get operators(): QueryOperators {
    return TEXT;
  }
  readonly maxLength: number;

  constructor(options: O) {
    super(options);
    this.maxLength = options?.maxLength;
  }

  protected check(value: unknown): string | FieldProblem {
    const s = checkString(value);
    if (s instanceof FieldProblem) return s;
    // Only count characters when the UTF-16 length could exceed the limit.
    if (s.length > this.maxLength && characterCount(s) > this.maxLength) {
      return new FieldProblem(`a string of ${characterCount(s)} characters, longer than maxLength ${this.maxLength}`, true);
    }
    return s;
  }

  protected override checkForQuery(value: unknown): string | FieldProblem {
    return checkString(value);
  }
}
