import type { BatchAccess, PreparedInsert } from './batch-access';
import { UsageError } from './errors';
import { databaseOf } from './model-binding';
import { checkedMeta } from './model-registry';
import { inTransaction } from './persistence/in-transaction';
import { insertRow } from './persistence/insert-row';
import { schemaAtFirstUse } from './schema-at-first-use';

/**
 * `Model.createAll()`: see there. Every instance is built and checked before
 * any SQL; the inserts run in one transaction (a savepoint inside the
 * caller's), one prepared statement per row, so they all land or none does.
 * The instances learn their keys only once it has committed (or, inside a
 * transaction, released): a failure leaves none of them half-created.
 */
export async function createAll(cls: Function, attrsList: unknown, access: BatchAccess): Promise<object[]> {
  const meta = checkedMeta(cls);
  const what = `${meta.modelName}.createAll()`;
  if (!Array.isArray(attrsList)) throw new UsageError(`${what} takes an array of attribute objects`);
  const db = databaseOf(cls);
  const instances = attrsList.map((attrs) => access.build(cls, meta, attrs, what));
  const inserts: PreparedInsert[] = instances.map((m) => access.prepareInsert(m, db, meta));
  if (instances.length === 0) return instances;
  const session = db.session(what);
  try {
    const first = schemaAtFirstUse(db, meta, session);
    if (first !== undefined) await first;
    const pks = await inTransaction(db, session, true, async (s) => {
      const out: unknown[] = [];
      for (const insert of inserts) out.push(await insertRow(db, s, meta, insert.values));
      return out;
    });
    instances.forEach((m, i) => access.finishInsert(m, db, session, meta, inserts[i]!, pks[i]));
    return instances;
  } finally {
    session.end();
  }
}
