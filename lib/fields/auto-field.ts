import { FieldOptions } from './field';
import { IntegerField } from './integer-field';

/**
 * An auto-incrementing integer primary key. Leave it unset on new instances;
 * the database assigns it on insert and the instance receives it.
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), name: new CharField({ maxLength: 100 }) };
 * ```
 */
export class AutoField extends IntegerField<FieldOptions<number>> {
  override readonly typeName: string = 'auto-increment integer';

  constructor(options: Omit<FieldOptions<number>, 'primaryKey' | 'default' | 'null'> = {}) {
    super({ ...options, primaryKey: true });
  }

  override get generated(): boolean {
    return true;
  }
}
