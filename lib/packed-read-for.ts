import type { Database } from './database';
import type { PackedRead } from './dialects/packed-rows';
import type { ModelMeta } from './model-meta';
import { quote, quoteLabel } from './persistence/sql-text';

// Per database and model: the packed read of its select list, or null when it has none.
const reads = new WeakMap<Database, WeakMap<ModelMeta, PackedRead | null>>();

/**
 * The packed read (see `DialectAdapter.packedRows`) of a model's select
 * list (`selectList`: every field under its property name), or `undefined`
 * to read rows: the dialect has none, or cannot use it now, or a field
 * reads its column through an expression (`Field.selectExpression`), whose
 * value the packing could see differently (a JSON function's result would
 * go in as JSON, not as the text the driver hands back).
 */
export function packedReadFor(db: Database, meta: ModelMeta): PackedRead | undefined {
  const packed = db.adapter.packedRows;
  if (packed === undefined || !packed.usableWith(db.knex.client)) return undefined;
  let perDb = reads.get(db);
  if (perDb === undefined) reads.set(db, (perDb = new WeakMap()));
  let read = perDb.get(meta);
  if (read === undefined) {
    const bare = meta.fields.every((f) => {
      const column = quote(db, f.column);
      return f.field.selectExpression(column, db.adapter) === column;
    });
    read = (bare ? packed.read(meta.fields.map((f) => ({ label: quoteLabel(db, f.name), floatingPoint: f.field.floatingPoint }))) : undefined) ?? null;
    perDb.set(meta, read);
  }
  return read ?? undefined;
}
