import { UsageError } from './errors';
import { shadowingError } from './model-definition-errors';
import { ModelMeta, type FieldBinding } from './model-meta';

/** How the accessors a model class gets reach an instance's private values. */
export interface AttributeAccess {
  /** Names of the base class's methods: a field may not take them. */
  readonly reserved: readonly string[];
  get(instance: object, name: string): unknown;
  set(instance: object, f: FieldBinding, meta: ModelMeta, value: unknown): void;
}

/**
 * The registry of model classes: each class's metadata, compiled once on
 * first use, and the property accessors installed on its prototype. Model
 * registers itself here; nothing in this file touches an instance's state
 * but through the access Model gave it.
 */
let base: Function | undefined;
let access: AttributeAccess | undefined;
let reserved: ReadonlySet<string> = new Set();

const metas = new WeakMap<Function, ModelMeta>();

// Classes whose fields a compiled subclass has copied: changing them now
// would leave that subclass's metadata without the change.
const inherited = new WeakSet<Function>();

/** @internal Called once, by Model itself. */
export function registerModelBase(cls: Function, a: AttributeAccess): void {
  base = cls;
  access = a;
  // What every object inherits too: a values object would report
  // Object.prototype.valueOf for an unset field, and an accessor named
  // toString would break String(instance).
  reserved = new Set([...a.reserved, ...Object.getOwnPropertyNames(Object.prototype)]);
}

function installAccessors(cls: Function, meta: ModelMeta): void {
  const proto = cls.prototype as object;
  const a = access!;
  for (const f of meta.fields) {
    Object.defineProperty(proto, f.name, {
      configurable: true,
      enumerable: true,
      get(this: object) {
        return a.get(this, f.name);
      },
      set(this: object, value: unknown) {
        a.set(this, f, meta, value);
      },
    });
  }
}

/**
 * @internal Forgets the compiled metadata of `cls` after its fields changed
 * (`applyConcurrencyCheck`); the next use compiles them again.
 */
export function forgetMeta(cls: Function): void {
  metas.delete(cls);
}

/** @internal Whether a subclass of `cls` has compiled its metadata (and so copied `cls`'s fields). */
export function fieldsInheritedByCompiledSubclass(cls: Function): boolean {
  return inherited.has(cls);
}

/** The compiled metadata of a model class, built on first use. */
export function metaOf(cls: Function): ModelMeta {
  let meta = metas.get(cls);
  if (meta === undefined) {
    if (cls === base) throw new UsageError('use a subclass of Model that declares a table and fields');
    meta = new ModelMeta(cls, reserved);
    metas.set(cls, meta);
    installAccessors(cls, meta);
    for (let c = Object.getPrototypeOf(cls) as Function; c !== base && c !== Function.prototype; c = Object.getPrototypeOf(c) as Function) inherited.add(c);
  }
  return meta;
}

/**
 * Metadata, after checking once that no class field shadows a model field
 * (with standard class fields, `name!: string` would become an own property
 * holding `undefined`, hiding the accessor and every value).
 */
export function checkedMeta(cls: Function): ModelMeta {
  const meta = metaOf(cls);
  if (!meta.shadowingChecked) {
    const probe = new (cls as new () => object)();
    for (const key of Object.keys(probe)) if (meta.byName.has(key)) throw shadowingError(meta, key);
    meta.shadowingChecked = true;
  }
  return meta;
}
