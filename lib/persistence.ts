import type { Knex } from 'knex';
import type { Database } from './database';
import { RecordDeletedError, RecordModifiedError, Operation } from './errors';
import { execute, Statement } from './executor';
import { integerFromDb } from './fields/integer-field';
import type { VersionWrite } from './fields/version-field';
import type { FieldBinding, ModelMeta } from './model-meta';
import { updateTriggerVersioned } from './trigger-versioned-update';

/**
 * The only place that builds write statements. Every write to an existing
 * row is one conditional statement (`... WHERE pk = ? AND version = ?`) and
 * a row count: no read before the write. A zero count is a conflict, and
 * only then is the row read once more to tell "modified" from "deleted".
 */

type Values = Record<string, unknown>;

/** How a write treats the version. */
export interface VersionPolicy {
  /** The version the instance holds (`undefined` for a model without a version field). */
  readonly held: number | undefined;
  /** `false` to write without the compare-and-swap (`disableConcurrency`). */
  readonly check: boolean;
  /** `false` to leave the version as it is; the check still applies. */
  readonly increment: boolean;
}

// SQL text per database and model, keyed by the shape of the statement, and
// each field's position, which names a set of fields in a key unambiguously.
interface Compiled {
  readonly sql: Map<string, string>;
  readonly position: Map<FieldBinding, number>;
}

const compiledCache = new WeakMap<Database, WeakMap<ModelMeta, Compiled>>();

function compiled(db: Database, meta: ModelMeta): Compiled {
  let perDb = compiledCache.get(db);
  if (perDb === undefined) compiledCache.set(db, (perDb = new WeakMap()));
  let c = perDb.get(meta);
  if (c === undefined) perDb.set(meta, (c = { sql: new Map(), position: new Map(meta.fields.map((f, i) => [f, i])) }));
  return c;
}

function cached(db: Database, meta: ModelMeta, key: string, build: () => string): string {
  const perModel = compiled(db, meta).sql;
  let sql = perModel.get(key);
  if (sql === undefined) perModel.set(key, (sql = build()));
  return sql;
}

/** `1,3,` for a set of fields: part of a cache key. */
function positions(db: Database, meta: ModelMeta, fields: readonly FieldBinding[]): string {
  const position = compiled(db, meta).position;
  let key = '';
  for (const f of fields) key += `${position.get(f)},`;
  return key;
}

/** Quotes one identifier, dots included, the way this Knex instance does. */
function quoteOne(db: Database, name: string): string {
  return (db.knex.client as unknown as { wrapIdentifier(value: string, ctx: unknown): string }).wrapIdentifier(name, undefined);
}

/** Quotes an identifier (`schema.table` part by part) the way this Knex instance does. */
export function quote(db: Database, name: string): string {
  return name
    .split('.')
    .map((part) => quoteOne(db, part))
    .join('.');
}

/** `SELECT col AS prop, ...`: rows arrive keyed by property name, ready to hydrate. */
export function selectList(db: Database, meta: ModelMeta): string {
  // An alias is a single name: a property called `price.net` is not `schema.table`.
  return cached(db, meta, 'select-list', () =>
    meta.fields.map((f) => {
      const column = quote(db, f.column);
      const read = f.field.selectExpression(column, db.adapter);
      return read === column && f.column === f.name ? column : `${read} AS ${quoteOne(db, f.name)}`;
    }).join(', '),
  );
}

/** Reads one row by primary key, or `undefined`. */
export async function selectByPk(db: Database, runner: Knex | Knex.Transaction, meta: ModelMeta, pk: unknown): Promise<Values | undefined> {
  const sql = cached(db, meta, 'select-pk', () => `SELECT ${selectList(db, meta)} FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?`);
  const { rows } = await execute(db, runner, { sql, bindings: [meta.pk.field.toDb(pk as never)], method: 'select' });
  return rows[0] as Values | undefined;
}

/**
 * Inserts a new row from `values` (keyed by property name; `undefined`
 * means "not set": the database generates it). Returns the primary key.
 */
export async function insertRow(db: Database, runner: Knex | Knex.Transaction, meta: ModelMeta, values: Values): Promise<unknown> {
  const present = meta.fields.filter((f) => values[f.name] !== undefined);
  const pkGenerated = values[meta.pk.name] === undefined;
  const returning = pkGenerated && db.adapter.supportsReturning;
  const key = `insert|${returning}|${positions(db, meta, present)}`;
  const sql = cached(db, meta, key, () => {
    const table = quote(db, meta.table);
    const cols = present.map((f) => quote(db, f.column)).join(', ');
    const head = present.length === 0 ? db.adapter.insertDefaults(table) : `INSERT INTO ${table} (${cols}) VALUES (${present.map(() => '?').join(', ')})`;
    return returning ? `${head} RETURNING ${quote(db, meta.pk.column)}` : head;
  });
  const bindings = present.map((f) => f.field.toDb(values[f.name] as never));
  const result = await execute(db, runner, { sql, bindings, method: 'insert', returning });
  if (!pkGenerated) return values[meta.pk.name];
  const raw = returning ? result.rows[0]?.[meta.pk.column] : result.insertId;
  return meta.pk.field.fromDb(raw);
}

/** What a successful update tells the instance. */
export interface UpdateResult {
  /** The version the row holds now. */
  readonly version: number | undefined;
}

/**
 * The compare-and-swap update: `UPDATE t SET <changed>, version = <next>
 * WHERE pk = ? AND version = ?`. Throws `RecordModifiedError` /
 * `RecordDeletedError` when no row matched, leaving the row untouched.
 */
export async function updateRow(
  db: Database,
  meta: ModelMeta,
  target: object,
  pk: unknown,
  changed: readonly FieldBinding[],
  values: Values,
  policy: VersionPolicy,
): Promise<UpdateResult> {
  const version = meta.version;
  const checked = version !== undefined && policy.check && policy.held !== undefined;
  let next: number | undefined = policy.held;
  let readBack = false;
  let write: VersionWrite | undefined;
  if (version !== undefined && policy.increment) {
    const vcol = cached(db, meta, 'version-column', () => quote(db, version.column));
    write = version.field.updateVersion(vcol, checked ? policy.held : undefined);
    // The database keeps the version: proving its trigger moved it needs its own strategy.
    if (write.set === null) {
      const sets = changed.map((f) => `${quote(db, f.column)} = ?`);
      const setBindings = changed.map((f) => f.field.toDb(values[f.name] as never));
      return updateTriggerVersioned(db, meta, target, pk, { sets, bindings: setBindings }, policy);
    }
    next = write.next;
    readBack = next === undefined;
  }
  const returning = readBack && db.adapter.supportsReturning;
  // The text depends only on the shape of the write, so it is built once per
  // model and shape; a save only computes its bindings.
  const key = `update|${checked}|${returning}|${positions(db, meta, changed)}|${write?.set ?? ''}`;
  const sql = cached(db, meta, key, () => {
    const sets = changed.map((f) => `${quote(db, f.column)} = ?`);
    if (write !== undefined && write.set !== null) sets.push(`${quote(db, version!.column)} = ${write.set}`);
    let where = `${quote(db, meta.pk.column)} = ?`;
    if (checked) where += ` AND ${quote(db, version.column)} = ?`;
    const text = `UPDATE ${quote(db, meta.table)} SET ${sets.join(', ')} WHERE ${where}`;
    return returning ? `${text} RETURNING ${quote(db, version!.column)}` : text;
  });
  const bindings: unknown[] = [];
  for (const f of changed) bindings.push(f.field.toDb(values[f.name] as never));
  if (write !== undefined && write.set !== null) for (const b of write.bindings) bindings.push(b);
  bindings.push(meta.pk.field.toDb(pk as never));
  if (checked) bindings.push(policy.held);
  const stmt: Statement = { sql, bindings, method: 'update', returning };

  const runner = db.runner();
  let rowCount: number;
  if (readBack && !returning) {
    // No RETURNING: read the new version in the same transaction, where our
    // own update's row lock keeps every other writer out until commit.
    const answer = await inTransaction(db, runner, async (trx) => {
      const r = await execute(db, trx, stmt);
      if (r.rowCount === 0) return { rowCount: 0, version: undefined };
      return { rowCount: r.rowCount, version: await currentVersion(db, trx, meta, pk) };
    });
    rowCount = answer.rowCount;
    next = answer.version ?? undefined;
  } else {
    const r = await execute(db, runner, stmt);
    rowCount = r.rowCount;
    if (returning && rowCount > 0) next = integerFromDb(r.rows[0]?.[version!.column]) ?? undefined;
  }
  if (rowCount === 0) throw await conflict(db, runner, meta, target, pk, 'update', policy.held, checked);
  return { version: next };
}

/**
 * @internal The compare-and-swap UPDATE of a version the database keeps:
 * `UPDATE t SET <changed> WHERE pk = ? AND version = ?`, the version column
 * left to the trigger, with an optional RETURNING list and its bindings.
 */
export function triggerVersionedUpdate(
  db: Database,
  meta: ModelMeta,
  pk: unknown,
  changed: { readonly sets: readonly string[]; readonly bindings: readonly unknown[] },
  held: number,
  returning?: { readonly sql: string; readonly bindings: readonly unknown[] },
): Statement {
  const version = meta.version!;
  let sql = `UPDATE ${quote(db, meta.table)} SET ${changed.sets.join(', ')} WHERE ${quote(db, meta.pk.column)} = ? AND ${quote(db, version.column)} = ?`;
  if (returning !== undefined) sql += ` RETURNING ${returning.sql}`;
  const bindings = [...changed.bindings, meta.pk.field.toDb(pk as never), held, ...(returning?.bindings ?? [])];
  return { sql, bindings, method: 'update', returning: returning !== undefined };
}

/** The compare-and-swap delete: `DELETE FROM t WHERE pk = ? AND version = ?`. */
export async function deleteRow(db: Database, meta: ModelMeta, target: object, pk: unknown, policy: VersionPolicy): Promise<void> {
  const held = policy.held;
  const checked = meta.version !== undefined && policy.check && held !== undefined;
  const sql = cached(db, meta, `delete|${checked}`, () => {
    let s = `DELETE FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?`;
    if (checked) s += ` AND ${quote(db, meta.version!.column)} = ?`;
    return s;
  });
  const bindings = checked ? [meta.pk.field.toDb(pk as never), held] : [meta.pk.field.toDb(pk as never)];
  const runner = db.runner();
  const { rowCount } = await execute(db, runner, { sql, bindings, method: 'del' });
  if (rowCount === 0) throw await conflict(db, runner, meta, target, pk, 'delete', held, checked);
}

/** The version the row holds now (latest committed or our own), `null` if the row is gone. */
export async function currentVersion(db: Database, runner: Knex | Knex.Transaction, meta: ModelMeta, pk: unknown): Promise<number | null> {
  const version = meta.version;
  if (version === undefined) throw new TypeError(`${meta.modelName} has no version field`);
  // Outside a transaction every statement reads the latest committed row,
  // so the suffix (a locking read on MySQL) is only needed inside one; there
  // it would also wait for whichever writer holds the row.
  const suffix = runner === db.knex ? '' : db.adapter.latestRowReadSuffix;
  const sql = cached(
    db,
    meta,
    `current-version|${suffix}`,
    () => `SELECT ${quote(db, version.column)} FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?${suffix}`,
  );
  const { rows } = await execute(db, runner, { sql, bindings: [meta.pk.field.toDb(pk as never)], method: 'select' });
  if (rows.length === 0) return null;
  return integerFromDb(rows[0]![version.column]);
}

/**
 * The row's version, read inside a transaction so that no other writer can
 * change the row before commit (`FOR UPDATE`); `null` if the row is gone.
 */
export async function lockedVersion(db: Database, trx: Knex.Transaction, meta: ModelMeta, pk: unknown): Promise<number | null> {
  const version = meta.version!;
  const sql = cached(
    db,
    meta,
    'locked-version',
    () => `SELECT ${quote(db, version.column)} FROM ${quote(db, meta.table)} WHERE ${quote(db, meta.pk.column)} = ?${db.adapter.lockRowSuffix}`,
  );
  const { rows } = await execute(db, trx, { sql, bindings: [meta.pk.field.toDb(pk as never)], method: 'select' });
  if (rows.length === 0) return null;
  return integerFromDb(rows[0]![version.column]);
}

/** Builds the error for a write that matched no row: one extra read tells modified from deleted. */
export async function conflict(
  db: Database,
  runner: Knex | Knex.Transaction,
  meta: ModelMeta,
  target: object,
  pk: unknown,
  operation: Operation,
  held: number | undefined,
  checked: boolean,
): Promise<RecordModifiedError> {
  const expectedVersion = held ?? null;
  // Without a check, a write can only miss a row that is gone.
  const actual = checked ? await currentVersion(db, runner, meta, pk) : null;
  const details = { target, model: meta.modelName, pk, operation, expectedVersion };
  if (actual === null) return new RecordDeletedError(details);
  return new RecordModifiedError({ ...details, actualVersion: actual });
}

/**
 * Runs `fn` in the current transaction, or in a new one when there is none
 * (through `db.transaction()`, so a failed COMMIT is reported like any other).
 */
async function inTransaction<T>(db: Database, runner: Knex | Knex.Transaction, fn: (trx: Knex | Knex.Transaction) => Promise<T>): Promise<T> {
  if (runner !== db.knex) return fn(runner);
  return db.transaction((trx) => fn(trx));
}
