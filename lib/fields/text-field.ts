import { Field, FieldProblem, FieldOptions } from './field';
import { TEXT, type QueryOperators } from './query-operators';
import { checkString } from './char-field';

/**
 * An unbounded string column (`text`).
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), description: new TextField({ default: '' }) };
 * ```
 */
// `O` defaults to `{}` (no options): a field declared without a default is required by `create()`'s type.
export class TextField<O extends FieldOptions<string> = {}> extends Field<string, O> {
  readonly typeName: string = 'string';

  override get operators(): QueryOperators {
    return TEXT;
  }

  protected check(value: unknown): string | FieldProblem {
    return checkString(value);
  }
}
