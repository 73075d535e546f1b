import type { Database } from '../database';
import type { FieldBinding, ModelMeta } from '../model-meta';

/**
 * The SQL texts of the library's statements, built once per database, model
 * and statement shape and kept: a save computes only its bindings. Each
 * field's position names a set of fields in a cache key unambiguously.
 */
export interface Compiled {
  readonly sql: Map<string, string>;
  /** The last statement built by shape, with its shape (see `updateSql`). */
  last: { readonly shape: unknown; readonly sql: string } | undefined;
}

const compiledCache = new WeakMap<Database, WeakMap<ModelMeta, Compiled>>();
// The entry asked for last: a loop of saves asks for the same one every time.
let lastDb: Database | undefined;
let lastMeta: ModelMeta | undefined;
let lastCompiled: Compiled | undefined;

/** The statement texts kept for this database and model. */
export function compiled(db: Database, meta: ModelMeta): Compiled {
  if (db === lastDb && meta === lastMeta) return lastCompiled!;
  let perDb = compiledCache.get(db);
  if (perDb === undefined) compiledCache.set(db, (perDb = new WeakMap()));
  let c = perDb.get(meta);
  if (c === undefined) perDb.set(meta, (c = { sql: new Map(), last: undefined }));
  lastDb = db;
  lastMeta = meta;
  lastCompiled = c;
  return c;
}

/** The text kept under `key` for this database and model, built by `build` the first time. */
export function cachedSql(db: Database, meta: ModelMeta, key: string, build: () => string): string {
  const perModel = compiled(db, meta).sql;
  let sql = perModel.get(key);
  if (sql === undefined) perModel.set(key, (sql = build()));
  return sql;
}

/** `1,3,` for a set of fields: part of a cache key. */
export function positions(meta: ModelMeta, fields: readonly FieldBinding[]): string {
  let key = '';
  for (const f of fields) key += `${meta.positionOf(f)},`;
  return key;
}

/** Quotes one identifier, dots included, the way this Knex instance does. */
export function quoteOne(db: Database, name: string): string {
  return (db.knex.client as unknown as { wrapIdentifier(value: string, ctx: unknown): string }).wrapIdentifier(name, undefined);
}

/** Quotes a label of the library's own (a select-list alias), which the caller's wrapIdentifier hook must not map (see `DialectAdapter.quoteLabel`). */
export function quoteLabel(db: Database, label: string): string {
  return db.adapter.quoteLabel(db.knex.client, label);
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
  return cachedSql(db, meta, 'select-list', () =>
    meta.fields.map((f) => {
      // A field may read its column through an expression (JSON as text: see Field.selectExpression).
      const column = quote(db, f.column);
      const read = f.field.selectExpression(column, db.adapter);
      // Bare when the column already reads as its label (a caller's wrapIdentifier hook may map the column's name).
      const label = quoteLabel(db, f.name);
      return read === label ? read : `${read} AS ${label}`;
    }).join(', '),
  );
}
