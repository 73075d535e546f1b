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
/** What `create()` accepts: any writable attribute. Read-only ones (versions kept by the database) are left out. */
export type CreateAttributes<T> = Partial<Pick<T, Exclude<NonMethodKeys<T> & WritableKeys<T>, keyof Model>>>;

/** A model class whose instances are `T`, as the statics see it. */
export type ModelClass<T extends Model> = (new () => T) & Omit<typeof Model, 'prototype'>;

/** Options of `save()`. */
export interface SaveOptions {
  /** Save only these (changed) fields; the version is still checked. */
  fields?: readonly string[];
}

