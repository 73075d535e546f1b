import { ModelDefinitionError } from './errors';
import { CharField } from './fields/char-field';
import { Field } from './fields/field';
import { isVersionField, VersionField } from './fields/version-field';
import { compileArrayHydrator, compileHydrator } from './row-hydrator';

/** One field of one model: the field, its property name and its column. */
export interface FieldBinding {
  readonly name: string;
  readonly column: string;
  readonly field: Field;
}

export interface VersionBinding extends FieldBinding {
  readonly field: VersionField;
}

type Values = Record<string, unknown>;

/**
 * Per-model concurrency options: `static concurrency = { enabled: false }`
 * writes without the version check (the version still rises);
 * `{ increment: false }` checks the version but never raises it.
 */
export interface ModelConcurrencyOptions {
  readonly enabled?: boolean;
  readonly increment?: boolean;
}

const CONCURRENCY_KEYS = new Set(['enabled', 'increment']);

/**
 * Everything about a model class that does not change between instances,
 * computed once when the class is first used: its fields, primary key,
 * version field, and what hydration and dirty tracking need.
 */
export class ModelMeta {
  readonly modelName: string;
  readonly table: string;
  readonly fields: readonly FieldBinding[];
  readonly byName: ReadonlyMap<string, FieldBinding>;
  readonly pk: FieldBinding;
  readonly version: VersionBinding | undefined;
  /** Fields whose values can change in place (JSON, Date): compared by snapshot on save. */
  readonly mutable: readonly FieldBinding[];
  /** Fields whose driver value needs converting on read. */
  readonly converted: readonly FieldBinding[];
  /** Fields with a default, applied to new instances. */
  readonly defaulted: readonly FieldBinding[];
  /** `static concurrency`, resolved: whether writes check the version, and whether they raise it. */
  readonly concurrency: { readonly check: boolean; readonly increment: boolean };
  /** Converts a row selected with property-name aliases into instance values, in place. */
  readonly hydrate: (row: Values) => Values;
  /** Builds instance values from a row read as an array, in the order of `fields`. */
  readonly hydrateArray: (row: readonly unknown[]) => Values;
  /**
   * Whether the model has no version field and does not declare that it
   * writes unchecked. Refused at first use (`assertVersioned`), not here, so
   * that `bind()` followed by `applyConcurrencyCheck()` still works.
   */
  readonly #unversioned: boolean;
  /**
   * Fields whose values never appear in a serialized conflict report: those
   * declared `{ private: true }`, and, when the class declares
   * `static reportFields = [...]` (an allow-list), every field not in it.
   */
  readonly privateFields: ReadonlySet<string>;
  /** Set once the class has been checked for class fields that shadow model fields. */
  shadowingChecked = false;

  constructor(cls: Function, reserved: ReadonlySet<string>) {
    const name = cls.name || 'Model';
    this.modelName = name;
    const statics = cls as unknown as { table?: unknown; fields?: unknown };
    if (typeof statics.table !== 'string' || statics.table.trim() === '') {
      throw new ModelDefinitionError(name, `declare the table: static table = '${name.toLowerCase()}s';`);
    }
    this.table = statics.table;
    const declared = statics.fields;
    if (declared === null || typeof declared !== 'object') {
      throw new ModelDefinitionError(name, 'declare the fields: static fields = { id: new AutoField(), ... };');
    }

    const fields: FieldBinding[] = [];
    const columns = new Set<string>();
    for (const [prop, field] of Object.entries(declared as Record<string, unknown>)) {
      if (!(field instanceof Field)) {
        throw new ModelDefinitionError(name, `fields.${prop} is not a field; use one of AutoField, IntegerField, CharField, ... (new CharField({ maxLength: 100 }))`);
      }
      if (reserved.has(prop)) {
        throw new ModelDefinitionError(name, `a field cannot be called "${prop}": it is a Model method or a property every object inherits; rename the property and keep the column with { column: '${prop}' }`);
      }
      const column = field.options.column ?? prop;
      if (typeof column !== 'string' || column === '') throw new ModelDefinitionError(name, `fields.${prop}: column must be a non-empty string`);
      // Knex builds conditions and SET lists as objects keyed by column, and
      // mysql2 builds rows so: there a key __proto__ sets the prototype, so
      // a condition on it would vanish and a value for it go unwritten.
      if (column === '__proto__') throw new ModelDefinitionError(name, `fields.${prop}: a column named __proto__ cannot be read, matched or written safely through Knex; rename the column`);
      if (columns.has(column)) throw new ModelDefinitionError(name, `two fields use the column "${column}"`);
      columns.add(column);
      if (field instanceof CharField && !(Number.isSafeInteger(field.maxLength) && field.maxLength > 0)) {
        throw new ModelDefinitionError(name, `fields.${prop}: CharField needs a positive integer maxLength (new CharField({ maxLength: 100 }))`);
      }
      fields.push(Object.freeze({ name: prop, column, field }));
    }

    const pks = fields.filter((f) => f.field.primaryKey);
    if (pks.length !== 1) {
      throw new ModelDefinitionError(
        name,
        pks.length === 0
          ? 'no primary key: add id: new AutoField(), or mark a field { primaryKey: true }'
          : `one primary key is supported, found ${pks.map((f) => f.name).join(', ')}`,
      );
    }
    const versions = fields.filter((f) => isVersionField(f.field));
    if (versions.length > 1) throw new ModelDefinitionError(name, `a model has at most one version field, found ${versions.map((f) => f.name).join(', ')}`);
    if (versions[0] !== undefined && versions[0] === pks[0]) throw new ModelDefinitionError(name, 'the version field cannot be the primary key');

    this.fields = Object.freeze(fields);
    this.byName = new Map(fields.map((f) => [f.name, f]));
    for (const [i, f] of fields.entries()) this.#position.set(f, i);
    this.pk = pks[0]!;
    this.version = versions[0] as VersionBinding | undefined;
    this.mutable = Object.freeze(fields.filter((f) => f.field.mutable));
    this.converted = Object.freeze(fields.filter((f) => f.field.fromDb !== Field.prototype.fromDb));
    this.defaulted = Object.freeze(fields.filter((f) => f.field.hasDefault()));
    const problem = this.version?.field.definitionProblem({ fields: fields.map((f) => f.name), pk: this.pk.name, self: this.version.name });
    if (problem !== undefined) throw new ModelDefinitionError(name, problem);
    this.concurrency = concurrencyOptions(name, (cls as { concurrency?: unknown }).concurrency, this.version);
    this.#unversioned = this.version === undefined && this.concurrency.check;
    this.privateFields = privateFields(name, fields, (cls as { reportFields?: unknown }).reportFields);
    this.hydrate = compileHydrator(this.converted);
    this.hydrateArray = compileArrayHydrator(this.fields, new Set(this.converted));
  }

  /** Throws the definition error of a model that would write unchecked without saying so. */
  assertVersioned(): void {
    if (this.#unversioned) throw unversionedError(this.modelName);
  }

  /** Values of a new instance: the defaults, nothing else. */
  defaults(): Values {
    const values: Values = {};
    for (const f of this.defaulted) values[f.name] = f.field.clean(f.field.defaultValue(), this.modelName, f.name);
    return values;
  }

  /** Baseline snapshots of the mutable fields, or `undefined` when the model has none. */
  snapshotMutable(values: Values): Values | undefined {
    if (this.mutable.length === 0) return undefined;
    const orig: Values = {};
    for (const f of this.mutable) orig[f.name] = f.field.snapshot(values[f.name] as never);
    return orig;
  }

  /**
   * The fields changed since the baseline `orig`, in declaration order. For
   * immutable fields `orig` holds the value before the first assignment; for
   * mutable ones, a snapshot taken at load or save.
   */
  changedFields(values: Values, orig: Values | undefined): FieldBinding[] {
    const changed: FieldBinding[] = [];
    if (orig === undefined) return changed;
    // The baseline's own names, not every field's: it holds the few fields
    // assigned since the last save (and the mutable ones).
    for (const name in orig) {
      const f = this.byName.get(name);
      if (f === undefined) continue;
      const now = f.field.mutable ? f.field.snapshot(values[name] as never) : values[name];
      if (now !== orig[name]) changed.push(f);
    }
    // Declaration order, whatever the order of assignment: one SQL text per set of fields.
    if (changed.length > 1) changed.sort(this.#byPosition);
    return changed;
  }

  /** The field's index in `fields`: its declaration order. */
  positionOf(f: FieldBinding): number {
    return this.#position.get(f)!;
  }

  readonly #position = new Map<FieldBinding, number>();
  readonly #byPosition = (a: FieldBinding, b: FieldBinding): number => this.positionOf(a) - this.positionOf(b);
}

/**
 * A model without a version field saves unchecked (last writer wins). The
 * promise is that no write path does so silently, so such a model must say it.
 */
function unversionedError(model: string): ModelDefinitionError {
  return new ModelDefinitionError(
    model,
    'no version field, so its saves and deletes could not be checked. Either add one ' +
      '(version: new IntegerVersionField(), with addVersionColumn(t) in a migration), ' +
      'or declare that it writes unchecked, last writer wins: static concurrency = { enabled: false };',
  );
}

function privateFields(model: string, fields: readonly FieldBinding[], allowed: unknown): ReadonlySet<string> {
  const hidden = new Set(fields.filter((f) => f.field.private).map((f) => f.name));
  if (allowed === undefined) return hidden;
  if (!Array.isArray(allowed) || allowed.some((n) => typeof n !== 'string')) {
    throw new ModelDefinitionError(model, "static reportFields lists the property names a conflict report may show: static reportFields = ['name', 'price'];");
  }
  for (const n of allowed as string[]) {
    if (!fields.some((f) => f.name === n)) throw new ModelDefinitionError(model, `static reportFields names "${n}", which is not a field`);
  }
  for (const f of fields) if (!(allowed as string[]).includes(f.name)) hidden.add(f.name);
  return hidden;
}

function concurrencyOptions(model: string, declared: unknown, version: VersionBinding | undefined): ModelMeta['concurrency'] {
  if (declared === undefined) return { check: true, increment: true };
  const usage = 'static concurrency = { enabled: false } (no version check) or { increment: false } (check, never raise the version)';
  if (declared === null || typeof declared !== 'object' || Array.isArray(declared)) throw new ModelDefinitionError(model, `concurrency must be an object: ${usage}`);
  for (const [key, value] of Object.entries(declared)) {
    if (!CONCURRENCY_KEYS.has(key)) throw new ModelDefinitionError(model, `concurrency.${key} is not an option: ${usage}`);
    if (typeof value !== 'boolean') throw new ModelDefinitionError(model, `concurrency.${key} must be true or false: ${usage}`);
  }
  const options = declared as ModelConcurrencyOptions;
  const increment = options.increment !== false;
  if (!increment && version !== undefined && !version.field.canSkipIncrement) {
    throw new ModelDefinitionError(
      model,
      `concurrency = { increment: false } cannot apply to ${version.name}: its database trigger raises it on every UPDATE; remove the option or use an AutoIncVersionField`,
    );
  }
  return { check: options.enabled !== false, increment };
}
