import type { Knex } from 'knex';
import type { Database } from './database';
import { checkValueForDatabase } from './check-for-database';
import { UsageError, ValidationError } from './errors';
import { execute, type Statement } from './executor';
import type { ExecResult } from './dialects/dialect-adapter';
import type { PackedRead } from './dialects/packed-rows';
import { unstorableString } from './fields/char-field';
import type { FieldBinding, ModelMeta } from './model-meta';
import { guardBulkVersion } from './persistence/bulk-version-guard';
import { packedReadFor } from './packed-read-for';
import { schemaAtFirstUse } from './schema-at-first-use';
import { quote, quoteLabel, selectList } from './persistence/sql-text';
import { versionStrategyFor } from './persistence/version-strategy-for';
import type { Session } from './transactions/session';
import type { AttributeName, Conditions, Operator, QueryValue } from './model-types';

type Row = Record<string, unknown>;
/** Turns a result set into instances; `arrays` when its rows are arrays in field order. */
type Adopt<T> = (rows: readonly Row[] | readonly (readonly unknown[])[], arrays: boolean, session: Session) => T[];

const OPERATORS = new Set(['=', '!=', '<>', '<', '<=', '>', '>=', 'like', 'not like']);
const DIRECTIONS = new Set(['asc', 'desc']);

/**
 * A query over one model's table, built like a Knex query with property
 * names, that resolves to model instances. Every name and value is checked
 * before any SQL runs: unknown fields, wrong types, objects where a value
 * belongs are `ValidationError`s.
 *
 * `update()` and `delete()` are bulk writes: they do **not** check versions
 * (there is no instance to compare with). `update()` bumps the version of
 * every row it touches, so instances loaded before it conflict on their next
 * save.
 *
 * @example
 * ```ts
 * const lamps = await Product.query().where('name', 'like', '%lamp%').orderBy('id', 'desc').limit(10);
 * const one = await Product.query().where({ name: 'Desk lamp' }).first();
 * const n = await Product.query().whereIn('id', [1, 2, 3]).update({ price: 10 });
 * ```
 */
export class ModelQuery<T> implements PromiseLike<T[]> {
  readonly #db: Database;
  readonly #meta: ModelMeta;
  readonly #adopt: Adopt<T>;
  readonly #builder: Knex.QueryBuilder;
  /** The conditions applied to `#builder`, kept to apply them again as one group (see `update()`). */
  readonly #conditions: ((qb: Knex.QueryBuilder) => void)[] = [];
  #limited = false;
  #locked = false;

  /** @internal Use `Model.query()`. */
  constructor(db: Database, meta: ModelMeta, adopt: Adopt<T>) {
    this.#db = db;
    this.#meta = meta;
    this.#adopt = adopt;
    // Built on the Knex instance; the transaction, if any, is chosen when the
    // query runs (see #run), so a query built outside db.transaction() and
    // awaited inside it joins it like every other model call.
    this.#builder = db.knex(meta.table);
  }

  /** `where('name', value)`, `where('price', '<', 10)` or `where({ name, stock })`; conditions are ANDed. */
  where<K extends AttributeName<T>>(name: K, value: QueryValue<T, K>): this;
  where<K extends AttributeName<T>>(name: K, operator: Operator, value: QueryValue<T, K>): this;
  where(conditions: Conditions<T>): this;
  where(...args: unknown[]): this {
    return this.#condition('where', args);
  }

  /** Like `where`, ORed with the conditions before it. */
  orWhere<K extends AttributeName<T>>(name: K, value: QueryValue<T, K>): this;
  orWhere<K extends AttributeName<T>>(name: K, operator: Operator, value: QueryValue<T, K>): this;
  orWhere(conditions: Conditions<T>): this;
  orWhere(...args: unknown[]): this {
    return this.#condition('orWhere', args);
  }

  /** `whereNot('name', value)`: rows where the field differs. */
  whereNot<K extends AttributeName<T>>(name: K, value: QueryValue<T, K>): this {
    const f = this.#field(name);
    this.#operator(f, '!=');
    const v = this.#value(f, value) as Knex.Value;
    return this.#apply((qb) => qb.whereNot(f.column, v));
  }

  whereIn<K extends AttributeName<T>>(name: K, values: readonly QueryValue<T, K>[]): this {
    return this.#in('whereIn', name, values);
  }

  whereNotIn<K extends AttributeName<T>>(name: K, values: readonly QueryValue<T, K>[]): this {
    return this.#in('whereNotIn', name, values);
  }

  whereNull(name: AttributeName<T>): this {
    const column = this.#field(name).column;
    return this.#apply((qb) => qb.whereNull(column));
  }

  whereNotNull(name: AttributeName<T>): this {
    const column = this.#field(name).column;
    return this.#apply((qb) => qb.whereNotNull(column));
  }

  orderBy(name: AttributeName<T>, direction: 'asc' | 'desc' = 'asc'): this {
    const f = this.#field(name);
    if (!f.field.orderable) throw new ValidationError(this.#meta.modelName, name, `a ${f.field.typeName} field cannot be sorted the same way on every database; order by another field`, direction);
    const dir = typeof direction === 'string' ? direction.toLowerCase() : direction;
    if (!DIRECTIONS.has(dir as string)) throw new ValidationError(this.#meta.modelName, name, `order direction must be 'asc' or 'desc', not ${String(direction)}`, direction);
    this.#builder.orderBy(f.column, dir as 'asc' | 'desc');
    return this;
  }

  limit(count: number): this {
    this.#builder.limit(this.#count('limit', count));
    this.#limited = true;
    return this;
  }

  offset(count: number): this {
    this.#builder.offset(this.#count('offset', count));
    this.#limited = true;
    return this;
  }

  /** Locks the selected rows until the transaction ends (`SELECT ... FOR UPDATE`; ignored by SQLite, whose writers are serialised anyway). */
  forUpdate(): this {
    this.#builder.forUpdate();
    this.#locked = true;
    return this;
  }

  /** The matching instances. */
  async all(): Promise<T[]> {
    return this.#load(this.#builder.clone());
  }

  /** The first matching instance, or `undefined`. */
  async first(): Promise<T | undefined> {
    return (await this.#load(this.#builder.clone().limit(1)))[0];
  }

  /** How many rows match (after `forUpdate()`, locking them). */
  async count(): Promise<number> {
    const matching = this.#builder.clone().clearOrder();
    // PostgreSQL refuses FOR UPDATE beside an aggregate: count the locked rows
    // of a subquery instead, which locks them on every database alike.
    const knex = this.#db.knex;
    const n = knex.raw(`COUNT(*) AS ${quoteLabel(this.#db, 'n')}`);
    const query = this.#locked ? knex.select(n).from(matching.select(knex.raw('1')).as('kc_locked')) : matching.select(n);
    const { rows } = await this.#run(query);
    return Number(rows[0]?.n ?? 0);
  }

  /**
   * Bulk update of every matching row; returns the number of rows matched.
   * Values are by property name and validated like a save. Not version
   * checked; each row's version is bumped by its field's rule (a
   * `ConditionalVersionField` only when a checked field is set; a
   * `TriggerVersionField` by its trigger, which must exist). A row whose
   * version other SQL left at 2^53 - 1 or beyond, which one more would push
   * past the safe integers, refuses the whole update with a
   * `DatabaseValueError` before anything is written.
   */
  async update(values: Conditions<T>): Promise<number> {
    const meta = this.#meta;
    this.#refuseWindow('update');
    if (values === null || typeof values !== 'object' || Array.isArray(values)) throw new UsageError(`${meta.modelName}.query().update() takes an object of values`);
    const set: Row = {};
    for (const [name, value] of Object.entries(values)) {
      const f = this.#field(name);
      if (f === meta.pk) throw new ValidationError(meta.modelName, name, 'a bulk update cannot change primary keys', value);
      if (f === meta.version) throw new ValidationError(meta.modelName, name, 'the version is bumped by its own rule; leave it out of update()', value);
      const cleaned = f.field.clean(value, meta.modelName, name);
      checkValueForDatabase(this.#db.adapter, meta, f, cleaned);
      set[f.column] = f.field.toDb(cleaned as never);
    }
    if (Object.keys(set).length === 0) throw new UsageError(`${meta.modelName}.query().update() needs at least one field to set`);
    const version = meta.version;
    const session = this.#db.session(`${meta.modelName}.query().update()`);
    try {
      const first = schemaAtFirstUse(this.#db, meta, session);
      if (first !== undefined) await first;
      const update = this.#matching();
      if (version !== undefined && version.field.incrementsFor(Object.keys(values).map((name) => ({ name })))) {
        const moved = await versionStrategyFor(meta).bulkSet(this.#db, session, meta);
        if (moved !== undefined) set[version.column] = moved.sql;
        await guardBulkVersion(meta, () => this.#matching(), update, async (q) => (await this.#run(q, session)).rows);
      }
      return (await this.#run(update.update(set), session)).rowCount;
    } finally {
      session.end();
    }
  }

  /** Bulk delete of every matching row, without version checks; returns the number of rows deleted. */
  async delete(): Promise<number> {
    this.#refuseWindow('delete');
    return (await this.#run(this.#builder.clone().del(), undefined, true)).rowCount;
  }

  /** The SQL this query would run as a select, for debugging. */
  toString(): string {
    return this.#select(this.#builder.clone()).toString();
  }

  then<R1 = T[], R2 = never>(
    onfulfilled?: ((value: T[]) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.all().then(onfulfilled, onrejected);
  }

  catch<R = never>(onrejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<T[] | R> {
    return this.all().catch(onrejected);
  }

  /**
   * Runs a query built with Knex as one of the library's own statements
   * (`execute()`: in the transaction open now, in turn with the library's
   * other statements there, driver errors translated). Knex compiles it, so
   * the caller's `wrapIdentifier` hook maps the columns it names; its result
   * never passes through the caller's `postProcessResponse` hook, which
   * would rename the keys the model reads rows by (a camelCase mapper).
   */
  async #run(query: Knex.QueryBuilder, session?: Session, write = false, wrap?: (sql: string) => string): Promise<ExecResult> {
    const own = session === undefined ? this.#session(write) : undefined;
    const s = session ?? own!;
    try {
      const first = schemaAtFirstUse(this.#db, this.#meta, s);
      if (first !== undefined) await first;
      const { sql, bindings, method, options } = query.toSQL() as Knex.Sql & { options?: Record<string, unknown> };
      return await execute(this.#db, s, { sql: wrap === undefined ? sql : wrap(sql), bindings, method: method as Statement['method'], options, adHoc: true });
    } finally {
      own?.end();
    }
  }

  /** Where this query runs: a plain read may go to a replica; a write or a locking read needs the primary. */
  #session(write: boolean): Session {
    const what = `${this.#meta.modelName}.query()`;
    return write || this.#locked ? this.#db.session(what) : this.#db.readSession(what);
  }

  /**
   * Runs the select: rows as arrays where the driver offers them (cheaper
   * for it to build; the model makes its values object from them), else
   * objects keyed by property name through the library's own labels.
   */
  async #load(builder: Knex.QueryBuilder): Promise<T[]> {
    // Adopted before the session ends: the transaction must know these
    // instances before it can roll back (they may hold its uncommitted versions).
    const session = this.#session(false);
    try {
      const packed = packedReadFor(this.#db, this.#meta);
      if (packed !== undefined) {
        const rows = await this.#loadPacked(builder, packed, session);
        if (rows !== undefined) return this.#adopt(rows, true, session);
      }
      const { rows } = await this.#run(this.#select(builder), session);
      return this.#adopt(rows as readonly Row[] | readonly (readonly unknown[])[], this.#db.adapter.arrayRowsOption !== undefined, session);
    } finally {
      session.end();
    }
  }

  /**
   * The rows as arrays in field order, read as one packed value (see
   * `DialectAdapter.packedRows`), or `undefined` when this result cannot be:
   * the select then runs as it is (a second statement, in the same session).
   */
  async #loadPacked(builder: Knex.QueryBuilder, packed: PackedRead, session: Session): Promise<unknown[][] | undefined> {
    let result: ExecResult;
    try {
      result = await this.#run(builder.clone().select(this.#db.knex.raw(selectList(this.#db, this.#meta))), session, false, packed.wrap);
    } catch (err) {
      if (packed.fallsBackOn(err)) return undefined;
      throw err;
    }
    return packed.unpack(result.rows);
  }

  #select(builder: Knex.QueryBuilder): Knex.QueryBuilder {
    const arrays = this.#db.adapter.arrayRowsOption;
    if (arrays === undefined) return builder.select(this.#db.knex.raw(selectList(this.#db, this.#meta)));
    return builder.select(this.#meta.fields.map((f) => {
      const read = this.#read(f);
      return read === undefined ? f.column : this.#db.knex.raw(read);
    })).options(arrays);
  }

  /** The expression that reads `f` when it is not its bare column (see `Field.selectExpression`). */
  #read(f: FieldBinding): string | undefined {
    const column = quote(this.#db, f.column);
    const read = f.field.selectExpression(column, this.#db.adapter);
    return read === column ? undefined : read;
  }

  #field(name: unknown): FieldBinding {
    const f = typeof name === 'string' ? this.#meta.byName.get(name) : undefined;
    if (f === undefined) {
      throw new ValidationError(this.#meta.modelName, String(name), `unknown field (${this.#meta.modelName} has ${this.#meta.fields.map((x) => x.name).join(', ')})`);
    }
    return f;
  }

  #value(f: FieldBinding, value: unknown): unknown {
    const cleaned = f.field.cleanForQuery(value, this.#meta.modelName, f.name);
    checkValueForDatabase(this.#db.adapter, this.#meta, f, cleaned);
    return f.field.toDb(cleaned as never);
  }

  #condition(method: 'where' | 'orWhere', args: unknown[]): this {
    if (args.length === 1) {
      const conditions = args[0];
      if (conditions === null || typeof conditions !== 'object' || Array.isArray(conditions)) {
        throw new UsageError(`${this.#meta.modelName}.query().${method}() takes (name, value), (name, operator, value) or an object of conditions`);
      }
      const entries = Object.entries(conditions);
      const mapped: Row = {};
      for (const [name, value] of entries) {
        const f = this.#field(name);
        if (value !== null) this.#operator(f, '=');
        mapped[f.column] = this.#value(f, value);
      }
      return this.#apply((qb) => qb[method](mapped));
    }
    if (args.length === 2) {
      const f = this.#field(args[0]);
      if (args[1] !== null) this.#operator(f, '=');
      const v = this.#value(f, args[1]) as Knex.Value;
      return this.#apply((qb) => qb[method](f.column, v));
    }
    if (args.length === 3) {
      const f = this.#field(args[0]);
      const op = typeof args[1] === 'string' ? args[1].toLowerCase() : undefined;
      if (op === undefined || !OPERATORS.has(op)) {
        throw new ValidationError(this.#meta.modelName, f.name, `unsupported operator ${String(args[1])}; use one of ${[...OPERATORS].join(' ')}`, args[1]);
      }
      this.#operator(f, op);
      const value = op.endsWith('like') ? this.#likePattern(f, args[2]) : this.#value(f, args[2]);
      if (value === null && op !== '=' && op !== '!=' && op !== '<>') {
        throw new ValidationError(this.#meta.modelName, f.name, `cannot compare null with ${op}; use whereNull()/whereNotNull()`, null);
      }
      return this.#apply((qb) => qb[method](f.column, op, value as Knex.Value));
    }
    throw new UsageError(`${this.#meta.modelName}.query().${method}() takes 1 to 3 arguments, got ${args.length}`);
  }

  /** Refuses an operator the field's type does not support identically on every database (see `Field.operators`). */
  #operator(f: FieldBinding, op: string): void {
    const allowed = f.field.operators;
    if (allowed.has(op)) return;
    const instead = allowed.size === 0 ? 'it can only be tested with whereNull() / whereNotNull()' : `use one of ${[...allowed].join(' ')}`;
    throw new ValidationError(this.#meta.modelName, f.name, `a ${f.field.typeName} field cannot be compared with ${op} (it does not mean the same on every database); ${instead}`, op);
  }

  #likePattern(f: FieldBinding, value: unknown): string {
    if (typeof value !== 'string') throw new ValidationError(this.#meta.modelName, f.name, 'a LIKE pattern must be a string', value);
    const problem = unstorableString(value);
    if (problem !== undefined) throw new ValidationError(this.#meta.modelName, f.name, `the LIKE pattern ${problem}`, value);
    return value;
  }

  #in(method: 'whereIn' | 'whereNotIn', name: string, values: readonly unknown[]): this {
    const f = this.#field(name);
    if (!Array.isArray(values)) throw new ValidationError(this.#meta.modelName, f.name, `${method}() takes an array of values`, values);
    this.#operator(f, '=');
    const mapped = values.map((v) => {
      if (v === null) throw new ValidationError(this.#meta.modelName, f.name, `${method}() cannot match null; use whereNull()`, v);
      return this.#value(f, v);
    });
    return this.#apply((qb) => qb[method](f.column, mapped as Knex.Value[]));
  }

  /** Applies a condition to the query, and keeps it. */
  #apply(condition: (qb: Knex.QueryBuilder) => void): this {
    condition(this.#builder);
    this.#conditions.push(condition);
    return this;
  }

  /** A fresh query of the table with every condition so far as one group: `WHERE (a OR b)`. */
  #matching(): Knex.QueryBuilder {
    const conditions = this.#conditions;
    const q = this.#db.knex(this.#meta.table);
    return conditions.length === 0 ? q : q.where((qb) => {
      for (const c of conditions) c(qb);
    });
  }

  #count(what: string, n: unknown): number {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new UsageError(`${this.#meta.modelName}.query().${what}() takes a non-negative integer, not ${String(n)}`);
    }
    return n;
  }

  #refuseWindow(what: string): void {
    // PostgreSQL and SQLite ignore or reject LIMIT on UPDATE/DELETE; a bulk write
    // that silently touched every row instead of a page is worse than an error.
    if (this.#limited) throw new UsageError(`${this.#meta.modelName}.query().${what}() cannot be combined with limit()/offset(); select the keys first and use whereIn()`);
  }
}
