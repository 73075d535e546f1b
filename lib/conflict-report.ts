import { UsageError } from './errors';
import type { FieldBinding, ModelMeta } from './model-meta';

type Values = Record<string, unknown>;

/** The three values of one field in a conflict. */
export interface ConflictSides {
  /** As the caller loaded it. */
  readonly original: unknown;
  /** What the caller tried to write. */
  readonly mine: unknown;
  /** What the database holds now. */
  readonly theirs: unknown;
}

/** Picks the value of one field changed by both sides. */
export type MergeFunction = (field: string, sides: ConflictSides) => unknown;

/**
 * How `resolve()` settles a conflict: `'mine'` (every field the caller
 * changed takes the caller's value), `'theirs'` (the caller's changes are
 * dropped), or a function asked for each field changed by both sides.
 */
export type ResolveStrategy = 'mine' | 'theirs' | MergeFunction;

/** A conflict report as it is serialized: values keyed by property name, private fields left out. */
export interface ConflictReportJSON {
  readonly original: Values;
  readonly attempted: Values | null;
  readonly current: Values | null;
  readonly conflictingFields: readonly string[];
  readonly changedByMe: readonly string[];
  readonly changedByThem: readonly string[];
}

/** What a report needs from the model layer. */
export interface ConflictSource {
  readonly meta: ModelMeta;
  /** Every field's value as loaded (the instance's baseline). */
  readonly original: Values;
  /** Every field's value as the caller tried to write it; `null` for a delete. */
  readonly attempted: Values | null;
  /** The row now (hydrated), `null` when it is gone. */
  readonly current: Values | null;
  /** A saved instance holding `values` as its loaded state, at their version. */
  readonly rebuild: (values: Values) => object;
}

function same(f: FieldBinding, a: unknown, b: unknown): boolean {
  if (a === undefined || b === undefined) return a === b;
  return f.field.mutable ? f.field.snapshot(a as never) === f.field.snapshot(b as never) : a === b;
}

function copy(f: FieldBinding, v: unknown): unknown {
  return f.field.mutable && v !== undefined && v !== null ? f.field.fromSnapshot(f.field.snapshot(v as never)) : v;
}

/**
 * What a refused write knew and what the database holds: the values as
 * loaded (`original`), as attempted, and as they are now (`current`), and
 * which fields each side changed. Built from the row that the write path
 * reads anyway to tell "modified" from "deleted": no extra round trip.
 */
export class ConflictReport {
  readonly original: Readonly<Values>;
  readonly attempted: Readonly<Values> | null;
  readonly current: Readonly<Values> | null;
  /** Fields changed both by the caller and, since the load, by someone else. */
  readonly conflictingFields: readonly string[];
  /** Fields the caller changed. */
  readonly changedByMe: readonly string[];
  /** Fields someone else changed since the load (all of them when the row is gone). */
  readonly changedByThem: readonly string[];
  readonly #source: ConflictSource;

  constructor(source: ConflictSource) {
    this.#source = source;
    const { meta, original, attempted, current } = source;
    const skip = (f: FieldBinding): boolean => f === meta.version;
    const data = meta.fields.filter((f) => !skip(f));
    this.original = Object.freeze({ ...original });
    this.attempted = attempted === null ? null : Object.freeze({ ...attempted });
    this.current = current === null ? null : Object.freeze({ ...current });
    this.changedByMe = Object.freeze(attempted === null ? [] : data.filter((f) => !same(f, attempted[f.name], original[f.name])).map((f) => f.name));
    this.changedByThem = Object.freeze(current === null ? [] : data.filter((f) => !same(f, current[f.name], original[f.name])).map((f) => f.name));
    // A field both sides set to the same value is no conflict.
    this.conflictingFields = Object.freeze(
      this.changedByMe.filter((n) => this.changedByThem.includes(n) && !same(meta.byName.get(n)!, attempted![n], current![n])),
    );
  }

  /**
   * An instance at the row's current version with the conflict settled,
   * ready to `save()` (which is a compare-and-swap again: if the row moved
   * once more, that save conflicts in turn). The caller's changes to fields
   * nobody else touched are kept by `'mine'` and by a merge function.
   */
  resolve<T extends object = object>(strategy: ResolveStrategy): T {
    const { meta, current, rebuild } = this.#source;
    if (current === null) throw new UsageError(`${meta.modelName} ${String(this.original[meta.pk.name])} was deleted: there is nothing to merge into; create it again if it should exist`);
    if (strategy !== 'mine' && strategy !== 'theirs' && typeof strategy !== 'function') {
      throw new UsageError(`resolve() takes 'mine', 'theirs' or a merge function (field, { original, mine, theirs }) => value, not ${String(strategy)}`);
    }
    const instance = rebuild(current) as Record<string, unknown>;
    if (strategy === 'theirs') return instance as T;
    const attempted = this.attempted!;
    for (const name of this.changedByMe) {
      const f = meta.byName.get(name)!;
      let value = attempted[name];
      if (typeof strategy === 'function' && this.conflictingFields.includes(name)) {
        value = strategy(name, { original: copy(f, this.original[name]), mine: copy(f, attempted[name]), theirs: copy(f, current[name]) });
      }
      instance[name] = copy(f, value);
    }
    return instance as T;
  }

  /**
   * The merged instance when no field was changed by both sides (the
   * caller's changes on top of everyone else's), ready to `save()`; throws
   * `UsageError` naming the fields when some were.
   */
  mergeIfDisjoint<T extends object = object>(): T {
    const { meta } = this.#source;
    if (this.conflictingFields.length > 0) {
      throw new UsageError(
        `${meta.modelName} ${String(this.original[meta.pk.name])}: cannot merge automatically, ${this.conflictingFields.join(', ')} ` +
          `${this.conflictingFields.length === 1 ? 'was' : 'were'} changed both by you and by someone else; choose with resolve('mine' | 'theirs' | (field, sides) => value)`,
      );
    }
    return this.resolve<T>('mine');
  }

  /** The report without the model's private fields. */
  toJSON(): ConflictReportJSON {
    const hidden = this.#source.meta.privateFields;
    const visible = (v: Readonly<Values> | null): Values | null => {
      if (v === null) return null;
      const out: Values = {};
      for (const [k, value] of Object.entries(v)) if (!hidden.has(k) && value !== undefined) out[k] = value;
      return out;
    };
    const names = (list: readonly string[]): string[] => list.filter((n) => !hidden.has(n));
    return {
      original: visible(this.original)!,
      attempted: visible(this.attempted),
      current: visible(this.current),
      conflictingFields: names(this.conflictingFields),
      changedByMe: names(this.changedByMe),
      changedByThem: names(this.changedByThem),
    };
  }
}
