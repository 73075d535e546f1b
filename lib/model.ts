// This file is longer than the others on purpose: everything that touches an
// instance's private state (#values, #track) has to live in the class body.
import type { Database } from './database';
import { checkForDatabase } from './check-for-database';
import { checkSaveOptions } from './save-options';
import { newInstanceVersion } from './new-instance-version';
import { bindDatabase, databaseOf } from './model-binding';
import { constructorArguments, shadowingError, unknownField } from './model-definition-errors';
import { checkedMeta, metaOf, registerModelBase } from './model-registry';
import type { CreateArguments, CreateAttributes, ModelClass, SaveOptions } from './model-types';
import { ConnectionLostError, DoesNotExist, RecordModifiedError, UsageError, ValidationError } from './errors';
import { serialized } from './instance-queue';
import type { BatchAccess, PreparedInsert, PreparedUpdate } from './batch-access';
import { createAll } from './create-all';
import { saveAll, type SaveAllOptions } from './save-all';
import { ModelMeta, type FieldBinding } from './model-meta';
import { ModelQuery } from './model-query';
import { deleteRow } from './persistence/delete-row';
import { insertRow } from './persistence/insert-row';
import { selectByPk } from './persistence/row-reads';
import { updateFailure, updateRow } from './persistence/update-row';
import { versionPolicy } from './persistence/version-policy';
import type { RowUpdate, UpdateResult } from './persistence/version-strategy';
import { reportConflict } from './report-conflict';
import { schemaAtFirstUse } from './schema-at-first-use';
import { compileAdopter, pendingAdoption as pending } from './row-adopter';
import { currentScope } from './transactions/scope';
import type { Session } from './transactions/session';

type Values = Record<string, unknown>;

const NEW = 0;
const PERSISTED = 1;
const DELETED = 2;
// Loaded in a transaction that rolled back (its version may never have been
// committed), or created in one whose outcome is unknown (its row may or may
// not exist): it must be refreshed before it writes.
const UNCERTAIN = 3;

// The generated row-to-instance loops of each class, for object and array rows; see compileAdopter().
type Rows = readonly Values[] | readonly (readonly unknown[])[];
const adopters = new WeakMap<Function, { objects?: (rows: readonly Values[]) => Model[]; arrays?: (rows: readonly (readonly unknown[])[]) => Model[] }>();

let internals: {
  values(m: Model): Values;
  state(m: Model): number;
  makeUncertain(m: Model): void;
  assign(m: Model, f: FieldBinding, meta: ModelMeta, value: unknown): void;
  adopt(cls: ModelClass<Model>, meta: ModelMeta, rows: Rows, arrays: boolean): Model[];
  batch: BatchAccess;
};

/**
 * Base class of every model. Declare the table and the fields as statics and
 * the attributes with `declare` (a class field would shadow the model's
 * accessors and is refused); bind the class to a database once.
 *
 * Writes are compare-and-swap: `save()` runs
 * `UPDATE ... WHERE pk = ? AND version = ?` and throws `RecordModifiedError`
 * (or `RecordDeletedError`) when someone else changed (or deleted) the row
 * first, leaving the instance exactly as it was.
 *
 * @example
 * ```ts
 * class Product extends Model {
 *   static table = 'products';
 *   static fields = {
 *     id: new AutoField(),
 *     name: new CharField({ maxLength: 100 }),
 *     version: new IntegerVersionField(),
 *   };
 *   declare id: number;
 *   declare name: string;
 *   declare version: number;
 * }
 * Product.bind(connect('sqlite:./app.db'));
 * const p = await Product.create({ name: 'Lamp' });
 * p.name = 'Desk lamp';
 * await p.save();
 * ```
 */
export class Model {
  // `static table` and `static fields` are read from the subclass but not
  // declared here, so that declaring them needs no `override` under
  // `noImplicitOverride`: `static table = 'products'` (`schema.table` works on
  // PostgreSQL) and `static fields = { prop: field }`.

  // Initialised from what the adopter left, in the declarations themselves: a
  // private field is defined once per instance either way, and a later store
  // would be a second write per field for every row of a large load.
  #values: Values = pending.row as Values;
  // The lifecycle state, or, for a persisted instance with a dirty-tracking
  // baseline, the baseline itself (see #stateNow and #baseline below). One field
  // instead of two: with many model classes, every private field of a new
  // instance is a slow generic write, and a load of 10,000 rows pays it
  // 10,000 times; the instance is also 8 bytes smaller.
  #track: number | Values = pending.row === undefined ? NEW : (pending.orig ?? PERSISTED);

  // Methods, not private accessors: Node 20's V8 runs every read of a
  // private accessor through the runtime, several times per save.

  /** NEW, PERSISTED, DELETED or UNCERTAIN. */
  #stateNow(): number {
    const t = this.#track;
    return typeof t === 'number' ? t : PERSISTED;
  }

  /** Becoming PERSISTED keeps a baseline already there; any other state has none. */
  #setState(state: number): void {
    if (state !== PERSISTED || typeof this.#track === 'number') this.#track = state;
  }

  /** The dirty-tracking baseline of a persisted instance (set the state first). */
  #baseline(): Values | undefined {
    const t = this.#track;
    return typeof t === 'number' ? undefined : t;
  }

  #setBaseline(orig: Values | undefined): void {
    if (this.#stateNow() === PERSISTED) this.#track = orig ?? PERSISTED;
  }

  static {
    registerModelBase(Model, {
      // Model methods: names a field may not take.
      reserved: ['save', 'delete', 'refresh', 'toJSON'],
      get: (m, name) => (m as Model).#values[name],
      set: (m, f, meta, value) => internals.assign(m as Model, f, meta, value),
    });
    internals = {
      values: (m) => m.#values,
      state: (m) => m.#stateNow(),
      makeUncertain: (m) => {
        m.#setState(UNCERTAIN);
      },
      assign: (m, f, meta, value) => m.#assign(f, meta, f.field.clean(value, meta.modelName, f.name)),
      // One generated loop per class turns a result set into instances.
      batch: {
        prepareUpdate: (m, db, meta) => (m as Model).#prepareUpdate(db, meta),
        finishUpdate: (m, db, session, meta, write, version) => (m as Model).#finishUpdate(db, session, meta, write, version),
        reportConflict: (m, db, meta, err, write) => (m as Model).#reportConflict(db, meta, err, write),
        build: (cls, meta, attrs, what) => buildInstance(cls as ModelClass<Model>, meta, attrs, what),
        prepareInsert: (m, db, meta) => {
          (m as Model).#refuseStrayProperties(meta);
          return (m as Model).#prepareInsert(db, meta);
        },
        finishInsert: (m, db, session, meta, insert, pk) => (m as Model).#finishInsert(db, session, meta, insert, pk),
      },
      adopt: (cls, meta, rows, arrays) => {
        let forClass = adopters.get(cls);
        if (forClass === undefined) adopters.set(cls, (forClass = {}));
        if (arrays) return (forClass.arrays ??= compileAdopter(cls, meta, meta.hydrateArray))(rows as readonly (readonly unknown[])[]);
        return (forClass.objects ??= compileAdopter(cls, meta, meta.hydrate))(rows as readonly Values[]);
      },
    };
  }

  constructor() {
    if (arguments.length > 0) throw constructorArguments(new.target);
    if (pending.row !== undefined) {
      // Adopted from a row (the adopter has the metadata, so a load does not look it up per row).
      pending.row = undefined;
      pending.orig = undefined;
    } else {
      this.#values = metaOf(new.target).defaults();
    }
  }

  /**
   * Binds this model class, and its subclasses that are not bound
   * themselves, to a database.
   */
  static bind(db: Database): void {
    if (this === Model) throw new UsageError('bind() a model class (Product.bind(db)), not Model itself');
    metaOf(this);
    bindDatabase(this, db);
  }

  /** The database this class is bound to. */
  static database(): Database {
    return databaseOf(this);
  }

  /** The name of the version field, or `undefined` when the model has none. */
  static getVersionField(): string | undefined {
    return metaOf(this).version?.name;
  }

  /**
   * Inserts a new row and returns its instance, with the primary key and the
   * initial version set.
   *
   * @example
   * ```ts
   * const p = await Product.create({ name: 'Lamp' });
   * ```
   */
  static create<T extends Model, F = unknown>(this: ModelClass<T> & { readonly fields: F }, ...attrs: CreateArguments<T, F>): Promise<T>;
  static async create<T extends Model>(this: ModelClass<T>, attrs: CreateAttributes<T> = {} as CreateAttributes<T>): Promise<T> {
    const meta = checkedMeta(this);
    const instance = buildInstance(this, meta, attrs, `${meta.modelName}.create()`) as T;
    await instance.save();
    return instance;
  }

  /**
   * Inserts many new rows in one transaction (a savepoint inside yours) and
   * returns their instances, keys and versions set, in order. Every
   * attribute object is checked before any SQL; the rows all land or none
   * does.
   *
   * @example
   * ```ts
   * const [lamp, desk] = await Product.createAll([{ name: 'Lamp' }, { name: 'Desk' }]);
   * ```
   */
  static createAll<T extends Model, F = unknown>(this: ModelClass<T> & { readonly fields: F }, attrsList: readonly CreateAttributes<T, F>[]): Promise<T[]>;
  static async createAll<T extends Model>(this: ModelClass<T>, attrsList: readonly CreateAttributes<T>[]): Promise<T[]> {
    return (await createAll(this, attrsList, batchAccess)) as T[];
  }

  /**
   * Saves many changed instances of this model together, each a
   * compare-and-swap against the version it holds, in as few round trips as
   * the database allows (PostgreSQL, SQLite: one `UPDATE ... FROM (VALUES
   * ...)` per batch; MySQL: a locking read and one `UPDATE ... JOIN`), in one
   * transaction. Unchanged instances are skipped. Every refused row is
   * reported at once in a `BatchConflictError` listing each conflict. With
   * `atomic: true` (the default) one refused row means nothing is written
   * and every instance stays exactly as it was; with `atomic: false` the
   * others are saved. Inside `db.transaction()` it joins the transaction,
   * and a rollback restores every instance it saved.
   *
   * @throws BatchConflictError listing every instance whose row was changed or deleted by someone else.
   * @throws UsageError, ValidationError before any SQL, as `save()` would for any of them.
   *
   * @example
   * ```ts
   * const products = await Product.query().where('stock', '<', 5);
   * for (const p of products) p.stock += 10;
   * await Product.saveAll(products);
   * ```
   */
  static saveAll<T extends Model>(this: ModelClass<T>, instances: readonly T[], options?: SaveAllOptions): Promise<void> {
    return saveAll(this, instances, options, batchAccess);
  }

  /**
   * Loads one row by primary key.
   *
   * @throws DoesNotExist when there is no such row.
   */
  static async get<T extends Model>(this: ModelClass<T>, pk: unknown): Promise<T> {
    const meta = checkedMeta(this);
    if (pk === null || pk === undefined) throw new ValidationError(meta.modelName, meta.pk.name, `get() needs a primary key, not ${String(pk)}`, pk);
    const key = meta.pk.field.clean(pk, meta.modelName, meta.pk.name);
    const db = databaseOf(this);
    // A replica may serve it: a plain read (see connect()).
    const session = db.readSession(`${meta.modelName}.get()`);
    try {
      const first = schemaAtFirstUse(db, meta, session);
      if (first !== undefined) await first;
      const row = await selectByPk(db, session, meta, key);
      if (row === undefined) throw new DoesNotExist(meta.modelName, key);
      return rememberLoaded(session, internals.adopt(this, meta, [row], false))[0] as T;
    } finally {
      session.end();
    }
  }

  /**
   * A query over the model's table that resolves to instances. Field names
   * are property names; values are validated like assignments.
   *
   * @example
   * ```ts
   * const cheap = await Product.query().where('price', '<', 10).orderBy('name').limit(20);
   * ```
   */
  static query<T extends Model>(this: ModelClass<T>): ModelQuery<T> {
    const meta = checkedMeta(this);
    const db = databaseOf(this);
    return new ModelQuery<T>(db, meta, (rows, arrays, session) => rememberLoaded(session, internals.adopt(this, meta, rows, arrays)) as T[]);
  }

  /**
   * Inserts the instance if it is new; otherwise writes the changed fields
   * with a compare-and-swap on the version. Saving an unchanged instance
   * issues no statement.
   *
   * @throws RecordModifiedError when the row's version is not the one this instance holds.
   * @throws RecordDeletedError when the row is gone (it is never re-inserted).
   * @throws ValidationError before any SQL, for values that cannot be stored.
   */
  save<T extends Model>(this: T, options?: SaveOptions<T>): Promise<void>;
  save(options?: SaveOptions): Promise<void> {
    // One write of an instance at a time: a second save() waits for the
    // first, then writes what is still unsaved (never "changed by someone
    // else" because of its own first save).
    return serialized(this, () => this.#save(options));
  }

  // Chains, not async functions: this runs once per save, and every promise
  // costs (see transactions/scope.ts). A refusal before any SQL still
  // rejects the promise save() returns, as an async function would.
  #save(options: SaveOptions | undefined): Promise<void> {
    try {
      const cls = this.constructor as ModelClass<Model>;
      const meta = checkedMeta(cls);
      checkSaveOptions(meta, options);
      const db = databaseOf(cls);
      if (this.#stateNow() === NEW) {
        this.#refuseStrayProperties(meta);
        return this.#insert(db, meta);
      }
      const write = this.#prepareUpdate(db, meta, options?.fields);
      if (write === undefined) return Promise.resolve();
      return this.#update(db, meta, write);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #update(db: Database, meta: ModelMeta, write: PreparedUpdate): Promise<void> {
    const session = db.session(`${meta.modelName}.save()`);
    const row: RowUpdate = { db, session, meta, target: this, pk: write.pk, changed: write.changed, values: write.values, policy: write.policy };
    let running: Promise<UpdateResult>;
    try {
      const first = schemaAtFirstUse(db, meta, session);
      running = first === undefined ? updateRow(row) : first.then(() => updateRow(row));
    } catch (err) {
      session.end();
      throw err;
    }
    const fail = (err: unknown): never => {
      try {
        throw err instanceof RecordModifiedError ? this.#reportConflict(db, meta, err, write) : err;
      } finally {
        session.end();
      }
    };
    return running.then(
      (result) => {
        try {
          this.#finishUpdate(db, session, meta, write, result.version);
        } finally {
          session.end();
        }
      },
      (err: unknown) => {
        const classified = updateFailure(row, err);
        return classified === undefined ? fail(err) : classified.then(fail, fail);
      },
    );
  }

  /**
   * What an update of this saved instance writes, taken now (a value assigned
   * or changed in place while the write is in flight is not part of it, and
   * stays unsaved), or `undefined` when nothing changed. Refuses, before any
   * SQL, an instance that cannot be saved and values the database cannot store.
   */
  #prepareUpdate(db: Database, meta: ModelMeta, only?: readonly string[]): PreparedUpdate | undefined {
    this.#refuseStrayProperties(meta);
    const state = this.#stateNow();
    if (state === DELETED) throw new UsageError(`${meta.modelName} ${String(this.#values[meta.pk.name])} was deleted; create a new instance to insert it again`);
    if (state === UNCERTAIN) throw uncertainError(meta, this.#values[meta.pk.name], 'saved');
    if (state === NEW) throw new UsageError(`${meta.modelName}: this instance was never saved; create it first (save(), create() or ${meta.modelName}.createAll())`);
    let changed = meta.changedFields(this.#values, this.#baseline());
    // Names checked by checkSaveOptions.
    if (only !== undefined) changed = changed.filter((f) => only.includes(f.name));
    if (changed.length === 0) return undefined;
    this.#checkInPlace(meta, changed);
    checkForDatabase(db.adapter, meta, changed, this.#values);
    const policy = versionPolicy(meta, currentScope(), this, meta.version === undefined ? undefined : this.#values[meta.version.name], changed);
    const values = changed.map((f) => f.field.toDb(this.#values[f.name] as never));
    const written = changed.map((f) => (f.field.mutable ? f.field.snapshot(this.#values[f.name] as never) : this.#values[f.name]));
    return { pk: this.#values[meta.pk.name], changed, values, written, policy };
  }

  /** After a successful update: recorded in the transaction (before the session ends), then the new version and baseline. */
  #finishUpdate(db: Database, session: Session, meta: ModelMeta, write: PreparedUpdate, version: number | undefined): void {
    // Recorded before the session ends: the transaction cannot roll back before it knows this instance.
    this.#remember(session);
    if (meta.version !== undefined && version !== undefined) this.#values[meta.version.name] = version;
    this.#settle(meta, write.changed, write.written);
    db.monitor.saved(meta.modelName);
  }

  #reportConflict(db: Database, meta: ModelMeta, err: RecordModifiedError, write: PreparedUpdate | null): RecordModifiedError {
    const attempt = write === null ? null : { changed: write.changed, written: write.written };
    return reportConflict(db, this.constructor as ModelClass<Model>, meta, err, this.#values, this.#baseline(), attempt);
  }

  /**
   * Deletes the row with a compare-and-swap on the version:
   * `DELETE ... WHERE pk = ? AND version = ?`.
   *
   * @throws RecordModifiedError when the row changed since this instance loaded it (the row stays).
   * @throws RecordDeletedError when the row is already gone.
   */
  async delete(): Promise<void> {
    return serialized(this, () => this.#delete());
  }

  async #delete(): Promise<void> {
    const cls = this.constructor as ModelClass<Model>;
    const meta = checkedMeta(cls);
    const state = this.#stateNow();
    if (state === UNCERTAIN) throw uncertainError(meta, this.#values[meta.pk.name], 'deleted');
    if (state !== PERSISTED) {
      throw new UsageError(`${meta.modelName}: cannot delete an instance that was ${state === NEW ? 'never saved' : 'already deleted'}`);
    }
    const db = databaseOf(cls);
    const policy = versionPolicy(meta, currentScope(), this, meta.version === undefined ? undefined : this.#values[meta.version.name]);
    const session = db.session(`${meta.modelName}.delete()`);
    try {
      const first = schemaAtFirstUse(db, meta, session);
      if (first !== undefined) await first;
      await deleteRow(db, session, meta, this, this.#values[meta.pk.name], policy);
      this.#remember(session);
      this.#setState(DELETED);
    } catch (err) {
      if (err instanceof RecordModifiedError) throw this.#reportConflict(db, meta, err, null);
      throw err;
    } finally {
      session.end();
    }
  }

  /**
   * Reloads every field from the database, discarding unsaved changes.
   *
   * @throws DoesNotExist when the row is gone.
   */
  async refresh(): Promise<void> {
    return serialized(this, () => this.#refresh());
  }

  async #refresh(): Promise<void> {
    const cls = this.constructor as ModelClass<Model>;
    const meta = checkedMeta(cls);
    const state = this.#stateNow();
    if (state === NEW || state === DELETED) throw new UsageError(`${meta.modelName}: cannot refresh an instance that was ${state === NEW ? 'never saved' : 'deleted'}`);
    const db = databaseOf(cls);
    const pk = this.#values[meta.pk.name];
    if (pk === undefined) throw uncertainError(meta, pk, 'refreshed');
    const session = db.session(`${meta.modelName}.refresh()`);
    try {
      const first = schemaAtFirstUse(db, meta, session);
      if (first !== undefined) await first;
      // On the primary (never a replica) and, on a cluster, as of every commit
      // before it: an older version would only make the next save conflict again.
      const row = await selectByPk(db, session, meta, pk, true);
      if (row === undefined) throw new DoesNotExist(meta.modelName, pk);
      this.#remember(session);
      this.#values = meta.hydrate(row);
      this.#setState(PERSISTED);
      this.#setBaseline(meta.snapshotMutable(this.#values));
    } finally {
      session.end();
    }
  }

  /** The field values as a plain object keyed by property name. */
  toJSON(): Record<string, unknown> {
    const meta = metaOf(this.constructor as Function);
    const out: Values = {};
    for (const f of meta.fields) {
      const v = this.#values[f.name];
      if (v !== undefined) out[f.name] = v;
    }
    return out;
  }

  async #insert(db: Database, meta: ModelMeta): Promise<void> {
    const insert = this.#prepareInsert(db, meta);
    const session = db.session(`${meta.modelName}.save()`);
    try {
      const first = schemaAtFirstUse(db, meta, session);
      if (first !== undefined) await first;
      const pk = await insertRow(db, session, meta, insert.values).catch((err: unknown) => {
        // The row may exist (its key unknown): saving again could insert it twice.
        if (err instanceof ConnectionLostError && err.outcomeUnknown) this.#setState(UNCERTAIN);
        throw err;
      });
      this.#finishInsert(db, session, meta, insert, pk);
    } finally {
      session.end();
    }
  }

  /** The row an insert of this new instance writes, taken now; refuses missing and unstorable values before any SQL. */
  #prepareInsert(db: Database, meta: ModelMeta): PreparedInsert {
    this.#checkInPlace(meta, meta.mutable);
    const values: Values = { ...this.#values };
    for (const f of meta.fields) {
      if (values[f.name] !== undefined || f.field.generated || f === meta.version) continue;
      if (!f.field.nullable) throw new ValidationError(meta.modelName, f.name, 'is required (no value and no default)');
      values[f.name] = null;
    }
    if (values[meta.pk.name] === null) values[meta.pk.name] = undefined;
    if (meta.version !== undefined) values[meta.version.name] = meta.version.field.initialVersion();
    checkForDatabase(db.adapter, meta, meta.fields, values);
    // Taken now, with the values written: changes made while the insert is in flight stay unsaved.
    return { values, orig: meta.snapshotMutable(values) };
  }

  #finishInsert(db: Database, session: Session, meta: ModelMeta, insert: PreparedInsert, pk: unknown): void {
    this.#remember(session);
    this.#adoptInserted(meta, insert.values, pk, insert.orig);
    db.monitor.saved(meta.modelName);
  }

  /**
   * A value changed in place (a JSON document, a Date) skipped the checks an
   * assignment runs, and JSON.stringify or the driver would store NaN, a Map
   * or an invalid Date as something else: check it before any SQL.
   */
  #checkInPlace(meta: ModelMeta, fields: readonly FieldBinding[]): void {
    for (const f of fields) {
      const value = this.#values[f.name];
      if (f.field.mutable && value !== null && value !== undefined) f.field.clean(value, meta.modelName, f.name);
    }
  }

  /**
   * After a successful write: what was written (`written`, taken when the
   * save started) is the new baseline. A field assigned or changed in place
   * while the write was in flight differs from it, so it stays dirty and the
   * next save writes it.
   */
  #settle(meta: ModelMeta, saved: readonly FieldBinding[], written: readonly unknown[]): void {
    const orig = this.#baseline();
    if (orig === undefined) return;
    // Usually the baseline held exactly the fields saved, none changed since:
    // it goes as a whole, without a delete per field.
    if (meta.mutable.length === 0 && keyCount(orig) === saved.length && this.#unchangedSince(saved, written)) {
      this.#setBaseline(undefined);
      return;
    }
    for (let i = 0; i < saved.length; i++) {
      const f = saved[i]!;
      if (f.field.mutable || this.#values[f.name] !== written[i]) orig[f.name] = written[i];
      else delete orig[f.name];
    }
    if (meta.mutable.length === 0 && Object.keys(orig).length === 0) this.#setBaseline(undefined);
  }

  /** Whether every field in `saved` still holds what was written. */
  #unchangedSince(saved: readonly FieldBinding[], written: readonly unknown[]): boolean {
    for (let i = 0; i < saved.length; i++) if (this.#values[saved[i]!.name] !== written[i]) return false;
    return true;
  }

  /**
   * After an insert: the instance holds the row as written, with its key. A
   * field assigned while the insert was in flight keeps its new value and
   * stays dirty against what was written.
   */
  #adoptInserted(meta: ModelMeta, written: Values, pk: unknown, orig: Values | undefined): void {
    const now = this.#values;
    written[meta.pk.name] = pk;
    let baseline = orig;
    for (const f of meta.fields) {
      if (f === meta.pk || f === meta.version) continue;
      const current = now[f.name];
      if (current === undefined || current === written[f.name]) continue;
      // Assigned while the insert was in flight: kept, and dirty against what was written
      // (a mutable field is measured against its snapshot in `orig`).
      if (!f.field.mutable) (baseline ??= {})[f.name] = written[f.name];
      written[f.name] = current;
    }
    this.#values = written;
    this.#setState(PERSISTED);
    this.#setBaseline(baseline);
  }


  /** Inside a transaction, records how to put this instance back if it rolls back. */
  #remember(session: Session): void {
    const frame = session.frame;
    if (frame === undefined) return;
    const values = { ...this.#values };
    const baseline = this.#baseline();
    const orig = baseline === undefined ? undefined : { ...baseline };
    const state = this.#stateNow();
    frame.remember(this, (outcomeUnknown) => {
      // The transaction may have committed after all. Back to its old version,
      // a saved or deleted instance is safe either way (if the commit landed,
      // its next write conflicts); one created inside would be inserted a
      // second time, so it keeps its key and must be refreshed first.
      if (outcomeUnknown && state === NEW) {
        this.#setState(UNCERTAIN);
        return;
      }
      this.#values = values;
      this.#setState(state);
      this.#setBaseline(orig);
    });
  }

  /**
   * An assignment to a name that is not a field lands on the instance as a
   * plain property and would never be saved: refuse it instead of losing it.
   */
  #refuseStrayProperties(meta: ModelMeta): void {
    const own = Object.keys(this);
    if (own.length === 0) return;
    for (const key of own) {
      if (meta.byName.has(key)) throw shadowingError(meta, key);
      throw unknownField(meta, key);
    }
  }

  /** Records a validated assignment, keeping the value it replaces as the dirty-tracking baseline. */
  #assign(f: FieldBinding, meta: ModelMeta, cleaned: unknown): void {
    const values = this.#values;
    const state = this.#stateNow();
    if (f === meta.version && state === NEW) throw newInstanceVersion(meta, f.name, cleaned);
    if (f === meta.pk && state !== NEW && cleaned !== values[f.name]) {
      throw new ValidationError(meta.modelName, f.name, 'the primary key of a saved row cannot change', cleaned);
    }
    if (f !== meta.version && !f.field.mutable && state === PERSISTED) {
      let orig = this.#baseline();
      if (orig === undefined) this.#setBaseline((orig = {}));
      if (!(f.name in orig)) orig[f.name] = values[f.name];
    }
    values[f.name] = cleaned;
  }
}

/**
 * @internal The database, metadata, primary key and held version of a saved
 * instance of a versioned model, for helpers such as `isChanged`.
 */
export function rowIdentity(instance: Model, caller: string): { db: Database; meta: ModelMeta; pk: unknown; version: unknown; uncertain: boolean; deleted: boolean } {
  if (!(instance instanceof Model)) throw new UsageError(`${caller}() takes a model instance`);
  const cls = instance.constructor as Function;
  const meta = checkedMeta(cls);
  const state = internals.state(instance);
  if (state === NEW) throw new UsageError(`${caller}(): this ${meta.modelName} is not a saved row`);
  if (meta.version === undefined) throw new UsageError(`${caller}(): ${meta.modelName} has no version field`);
  const values = internals.values(instance);
  return { db: databaseOf(cls), meta, pk: values[meta.pk.name], version: values[meta.version.name], uncertain: state === UNCERTAIN, deleted: state === DELETED };
}

// Undo entry of an instance loaded inside a transaction: its version came from
// that transaction, and if it rolls back that version may never have existed
// outside it (and may be reused by the next writer).
const LOADED: (m: Model) => (outcomeUnknown: boolean) => void = (m) => () => internals.makeUncertain(m);

/** Inside a transaction, marks `instances` to be made uncertain if it rolls back. */
function rememberLoaded<M extends Model>(session: Session, instances: M[]): M[] {
  const frame = session.frame;
  if (frame !== undefined) for (const m of instances) frame.remember(m, LOADED(m), 'load');
  return instances;
}

function uncertainError(meta: ModelMeta, pk: unknown, verb: string): UsageError {
  if (pk === undefined) {
    return new UsageError(
      `This new ${meta.modelName} cannot be ${verb}: its insert's outcome is unknown (the connection was lost), so the row may exist, under a key nobody was told. ` +
        `Saving it again could insert it twice. Look the row up (${meta.modelName}.query()) and create a new instance only if it is not there.`,
    );
  }
  return new UsageError(
    `${meta.modelName} ${String(pk)} cannot be ${verb}: it was loaded or written in a transaction that rolled back (or whose outcome is unknown), ` +
      `so the version it holds may never have been committed. Nothing was written: refresh() it, re-apply your change, and ${verb === 'saved' ? 'save' : 'delete'} again.`,
  );
}

/** A new instance from `attrs`, as `create()` builds it: every name and value checked, nothing written. */
function buildInstance(cls: ModelClass<Model>, meta: ModelMeta, attrs: unknown, what: string): Model {
  if (attrs === undefined) attrs = {};
  if (attrs === null || typeof attrs !== 'object' || Array.isArray(attrs)) {
    throw new UsageError(`${what} takes ${what.endsWith('createAll()') ? 'an array of objects' : 'an object'} of attributes`);
  }
  for (const key of Object.keys(attrs)) {
    if (!meta.byName.has(key)) throw unknownField(meta, key);
    if (meta.version?.name === key) throw newInstanceVersion(meta, key, (attrs as Values)[key]);
  }
  const instance = new cls();
  Object.assign(instance, attrs);
  return instance;
}

// Read once the class body has run: the static block fills `internals` in.
const batchAccess: BatchAccess = {
  prepareUpdate: (m, db, meta) => internals.batch.prepareUpdate(m, db, meta),
  finishUpdate: (m, db, session, meta, write, version) => internals.batch.finishUpdate(m, db, session, meta, write, version),
  reportConflict: (m, db, meta, err, write) => internals.batch.reportConflict(m, db, meta, err, write),
  build: (cls, meta, attrs, what) => internals.batch.build(cls, meta, attrs, what),
  prepareInsert: (m, db, meta) => internals.batch.prepareInsert(m, db, meta),
  finishInsert: (m, db, session, meta, insert, pk) => internals.batch.finishInsert(m, db, session, meta, insert, pk),
};

function keyCount(values: Values): number {
  let n = 0;
  for (const _ in values) n++;
  return n;
}
