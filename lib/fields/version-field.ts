import { Field, FieldOptions, FieldProblem } from './field';
import { checkInteger, integerFromDb } from './integer-field';

/**
 * How a kind of version moves on UPDATE; `lib/persistence/` holds the rule
 * for each: `'clock'` (the application writes a new clock-derived value),
 * `'counter'` (the UPDATE adds 1), `'trigger'` (a database trigger adds 1).
 */
export type VersionKind = 'clock' | 'counter' | 'trigger';

const CANONICAL_INTEGER = /^(0|[1-9][0-9]{0,15})$/;

/**
 * Base of the version fields. A model has at most one. The version is
 * stored in a `bigint` column and read back as a JavaScript safe integer.
 */
export abstract class VersionField extends Field<number, FieldOptions<number>> {
  readonly typeName: string = 'version number';
  readonly isVersion = true;

  constructor(options: Omit<FieldOptions<number>, 'default' | 'null' | 'primaryKey'> = {}) {
    super(options);
  }

  /** Version written by an insert. */
  abstract initialVersion(): number;

  /** How the version moves on UPDATE (the write path picks its rule by it). */
  abstract readonly versionKind: VersionKind;

  /**
   * `false` when the version rises on every UPDATE whatever the library
   * asks (a database trigger keeps it), so a save that must not bump it
   * (`disableIncrement`, `concurrency = { increment: false }`) is refused.
   */
  readonly canSkipIncrement: boolean = true;

  /** Whether a write of these fields (by property name) raises the version; a checked write that does not is a "shadow save". */
  incrementsFor(_changed: readonly { readonly name: string }[]): boolean {
    return true;
  }

  /** A problem with this field's options on a model with these fields, or `undefined`; the model turns it into a `ModelDefinitionError`. */
  definitionProblem(_model: { readonly fields: readonly string[]; readonly pk: string; readonly self: string }): string | undefined {
    return undefined;
  }

  /**
   * Accepts a safe non-negative integer, or its canonical decimal string (a
   * version from a form or an `If-Match` header).
   */
  protected check(value: unknown): number | FieldProblem {
    if (typeof value === 'string') {
      if (!CANONICAL_INTEGER.test(value)) return new FieldProblem('expected a version number');
      value = Number(value);
    }
    const n = checkInteger(value);
    if (n instanceof FieldProblem) return new FieldProblem('expected a version number (a safe non-negative integer)');
    if (n < 0) return new FieldProblem('expected a version number (a safe non-negative integer)');
    return n;
  }

  override fromDb(raw: unknown): number | null {
    return integerFromDb(raw);
  }
}

export function isVersionField(field: Field): field is VersionField {
  return (field as Partial<VersionField>).isVersion === true;
}
