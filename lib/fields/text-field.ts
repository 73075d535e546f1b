import { TEXT, type QueryOperators } from './query-operators';
import { Field, FieldProblem } from './field';
import { checkString } from './char-field';

/**
 * An unbounded string column (`text`).
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), description: new TextField({ default: '' }) };
 * ```
 */
export class TextField extends Field<string> {
  readonly typeName: string = 'string';

  override get operators(): QueryOperators {
    return TEXT;
  }

  protected check(value: unknown): string | FieldProblem {
    return checkString(value);
  }
}
