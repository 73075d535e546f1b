import { AutoIncVersionField } from './auto-inc-version-field';
import type { FieldOptions } from './field';

type ColumnOption = Pick<FieldOptions<number>, 'column'>;

/** Which fields raise a `ConditionalVersionField`: either those listed, or all but those listed. */
export type ConditionalVersionFieldOptions = ColumnOption & ({ checkFields: readonly string[]; ignoreFields?: never } | { ignoreFields: readonly string[]; checkFields?: never });

/**
 * A version (+1 per save from a clock-derived start, like `AutoIncVersionField`) that rises only when a
 * checked field changes. A save that changes only unchecked fields still
 * checks the version (a "shadow save") but leaves it as it is, so someone
 * else's change to an unchecked field does not make your copy stale, while a
 * change to a checked field does.
 *
 * Unchecked fields are therefore last-writer-wins between copies; list as
 * checked every field whose concurrent edits must not overwrite each other.
 * Changes are measured against each instance's own baseline (the values it
 * loaded or last saved), never shared between instances.
 *
 * @example
 * ```ts
 * static fields = {
 *   id: new AutoField(),
 *   price: new FloatField(),
 *   views: new IntegerField({ default: 0 }),
 *   version: new ConditionalVersionField({ ignoreFields: ['views'] }),
 * };
 * ```
 */
export class ConditionalVersionField extends AutoIncVersionField {
  readonly checkFields: readonly string[] | undefined;
  readonly ignoreFields: readonly string[] | undefined;

  constructor(options: ConditionalVersionFieldOptions) {
    const { checkFields, ignoreFields, ...rest } = (options ?? {}) as { checkFields?: readonly string[]; ignoreFields?: readonly string[] } & ColumnOption;
    super(rest);
    this.checkFields = checkFields === undefined ? undefined : Object.freeze([...checkFields]);
    this.ignoreFields = ignoreFields === undefined ? undefined : Object.freeze([...ignoreFields]);
  }

  override incrementsFor(changed: readonly { readonly name: string }[]): boolean {
    if (this.checkFields !== undefined) return changed.some((f) => this.checkFields!.includes(f.name));
    return changed.some((f) => !this.ignoreFields!.includes(f.name));
  }

  override definitionProblem(model: { readonly fields: readonly string[]; readonly pk: string; readonly self: string }): string | undefined {
    const at = `fields.${model.self}: ConditionalVersionField`;
    if (this.checkFields !== undefined && this.ignoreFields !== undefined) {
      return `${at} takes checkFields or ignoreFields, not both (checkFields lists what raises the version, ignoreFields what does not)`;
    }
    const list = this.checkFields ?? this.ignoreFields;
    const option = this.checkFields !== undefined ? 'checkFields' : 'ignoreFields';
    if (list === undefined || !Array.isArray(list)) return `${at} needs { checkFields: [...] } or { ignoreFields: [...] }`;
    if (this.checkFields !== undefined && list.length === 0) return `${at}: checkFields is empty, so the version would never rise; list the fields whose changes must conflict`;
    for (const name of list) {
      if (name === model.self || name === model.pk) return `${at}: ${option} cannot name "${name}" (the version and the primary key are never saved as changes)`;
      if (!model.fields.includes(name)) return `${at}: ${option} names "${name}", which is not a field (fields: ${model.fields.join(', ')})`;
    }
    return undefined;
  }
}
