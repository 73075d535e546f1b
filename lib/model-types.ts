import type { Field } from './fields/field';
import type { Model } from './model';

/**
 * The types the model statics and `create()` are written in. Instance
 * attributes are the non-method properties a subclass declares with
 * `declare`; read-only ones (a version kept by the database) are not
 * accepted by `create()`.
 */

type NonMethodKeys<T> = { [K in keyof T]-?: T[K] extends (...args: never[]) => unknown ? never : K }[keyof T];
type IfEquals<X, Y, A, B> = (<V>() => V extends X ? 1 : 2) extends <V>() => V extends Y ? 1 : 2 ? A : B;
type WritableKeys<T> = { [K in keyof T]-?: IfEquals<{ [Q in K]: T[K] }, { -readonly [Q in K]: T[K] }, K, never> }[keyof T];

/** The declared attributes of a model instance (`declare name: string`). */
export type Attributes<T> = Pick<T, Exclude<NonMethodKeys<T>, keyof Model>>;
type WritableAttributes<T> = Pick<T, Exclude<NonMethodKeys<T> & WritableKeys<T>, keyof Model>>;

/**
 * Whether a field of type `F` must be given to `create()`: its options are
 * known (inferred from `new IntegerField(...)`) and have neither a `default`
 * nor `null: true`. Keys and versions, which the library or the database sets, never are.
 */
// Keys and versions need no test of their own: their classes fix their options type to the wide
// `FieldOptions<number>`, which has a `default` key, so they are never required.
type IsRequired<F> =
  F extends Field<any, infer O> // eslint-disable-line @typescript-eslint/no-explicit-any
    ? 'default' extends keyof O
      ? false
      : O extends { null: true }
        ? false
        : true
    : false;

/** The property names of a `static fields` object `F` whose fields `create()` must be given. */
export type RequiredFieldNames<F> = { [K in keyof F]-?: IsRequired<F[K]> extends true ? K : never }[keyof F];

/**
 * What `create()` accepts: any writable attribute, and, when the class's
 * `static fields` are known as `F`, every field without a default that does
 * not allow `null`. Read-only attributes (versions kept by the database) are left out.
 */
export type CreateAttributes<T, F = unknown> = Partial<WritableAttributes<T>> & Pick<WritableAttributes<T>, RequiredFieldNames<F> & keyof WritableAttributes<T>>;

/** `create()`'s arguments: the attributes may be left out only when no field is required. */
export type CreateArguments<T, F> = [RequiredFieldNames<F> & keyof WritableAttributes<T>] extends [never] ? [attrs?: CreateAttributes<T, F>] : [attrs: CreateAttributes<T, F>];

/** A model class whose instances are `T`, as the statics see it. */
export type ModelClass<T extends Model> = (new () => T) & Omit<typeof Model, 'prototype'>;

/**
 * The attribute names a query, `save({ fields })` or `update()` accepts for
 * instances `T`: the declared attributes. A model that declares none (plain
 * JavaScript style) accepts any name, checked at run time.
 */
export type AttributeName<T> = [Exclude<keyof Attributes<T>, symbol | number>] extends [never] ? string : Exclude<keyof Attributes<T>, symbol | number>;

/** The value type of attribute `K` as a query accepts it: a `Date` attribute also takes an ISO string. */
type Queryable<V> = V extends Date ? Date | string : V;
export type QueryValue<T, K> = K extends keyof T ? Queryable<T[K]> | null : unknown;

/** `where()`'s object form: some attributes and their values. */
export type Conditions<T> = { [K in AttributeName<T>]?: QueryValue<T, K> };

/** The comparison operators `where()` accepts. */
export type Operator = '=' | '!=' | '<>' | '<' | '<=' | '>' | '>=' | 'like' | 'not like';

/** Options of `save()`. */
export interface SaveOptions<T = unknown> {
  /** Save only these (changed) fields; the version is still checked. */
  fields?: readonly (unknown extends T ? string : AttributeName<T>)[];
}

