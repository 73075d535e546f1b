import type { Database } from './database';
import { inspectColumns } from './dialects/column-inspector';
import { SchemaMismatchError } from './errors';
import { execute } from './executor';
import { isVersionField } from './fields/version-field';
import { schemaProblems } from './migrations/schema-problems';
import type { ModelMeta } from './model-meta';
import type { Session } from './transactions/session';

/** The models whose table passed the check, per database. */
const checked = new WeakMap<Database, WeakSet<ModelMeta>>();

/**
 * The cheap check a database runs before a model's first statement on it:
 * the table exists, every field has a column, the version column is a
 * bigint (versions are microsecond clock values, about 1.8e15). A mismatch
 * is a `SchemaMismatchError` naming the migration call that fixes it,
 * instead of the driver's error on the first statement (or, for a narrow
 * version column, on the first insert). Width, precision and type of other
 * columns are `checkSchema()`'s and `bin/migrate check --models`' to judge:
 * an application may read a legacy column it knows to be narrow.
 *
 * Once it passes it is never run again for that model on that database (a
 * flag in a WeakSet: nothing measurable on the save path). A failure is not
 * kept: the next call checks again, so a table created later (by a
 * migration, by a spec's setup) is found. It runs in the call's session, so
 * inside a transaction it reads the catalog on the transaction's
 * connection (a table created in that transaction is seen, a pool of one
 * cannot deadlock) and, reading only, cannot abort it.
 *
 * Returns `undefined` when there is nothing to do, so the caller awaits
 * only at a model's first use.
 */
export function schemaAtFirstUse(db: Database, meta: ModelMeta, session: Session): Promise<void> | undefined {
  if (!db.checksSchema || checked.get(db)?.has(meta) === true) return undefined;
  return check(db, meta, session);
}

async function check(db: Database, meta: ModelMeta, session: Session): Promise<void> {
  // A schema-qualified name: the catalog reads name tables in the connection's own schema only.
  if (!meta.table.includes('.')) {
    // Run as the library's own statements (in turn, in the call's transaction), whose rows
    // no postProcessResponse hook of the user's reshapes (a camelCase mapper would hide column_name).
    const live = await inspectColumns(db.knex, db.dialect, meta.table, async (query) => {
      const { sql, bindings } = query.toSQL();
      return (await execute(db, session, { sql, bindings, method: 'select' })).rows;
    });
    const fields = meta.fields.filter((f, i) => meta.fields.findIndex((g) => g.column === f.column) === i);
    const missing = live === undefined ? fields : fields.filter((f) => !live.has(f.column));
    const version = meta.version === undefined ? undefined : live?.get(meta.version.column);
    const narrow = version !== undefined && isVersionField(meta.version!.field) && version.kind !== 'int64';
    const lossy = narrow ? [{ field: meta.version!, why: `is ${version.type}, too narrow for versions: they are microsecond clock values (about 1.8e15), which need a bigint` }] : [];
    if (live === undefined || missing.length > 0 || lossy.length > 0) {
      const problems = schemaProblems({ model: meta.modelName, table: meta.table, fields, exists: live !== undefined, missing, lossy, extra: [], triggerMissing: undefined, triggerDisabled: undefined });
      throw new SchemaMismatchError({ model: meta.modelName, table: meta.table, problems });
    }
  }
  let models = checked.get(db);
  if (models === undefined) checked.set(db, (models = new WeakSet()));
  models.add(meta);
}
