import type { Database } from '../database';
import { versionTriggerName } from '../dialects/version-trigger-name';
import type { VersionTriggerDialect } from '../dialects/version-trigger-dialect';
import { MissingTriggerError, UsageError } from '../errors';
import { execute, runKnex, type Statement } from '../executor';
import type { ModelMeta } from '../model-meta';
import type { Session } from '../transactions/session';
import { recordTranslation } from '../translate-error';
import { conflict } from './conflict';
import { inTransaction } from './in-transaction';
import { currentVersion, lockedVersion } from './row-reads';
import { cachedSql } from './sql-text';
import { updateSql, versionColumn } from './update-statement';
import type { RowUpdate, UpdateResult, VersionStrategy } from './version-strategy';
import { versionFromDb } from './version-value';

type Outcome = { readonly matched: false } | { readonly matched: true; readonly version: number };

/**
 * `TriggerVersionField`: a database trigger raises the version on every
 * UPDATE. The instance must end up holding exactly the version its own
 * update produced, and an update that no trigger bumped must write nothing:
 *
 * - where RETURNING sees the trigger's change (PostgreSQL), one statement
 *   returns the new version and fails, writing nothing, if it did not move;
 * - elsewhere (SQLite, MySQL), the update and a read of the version run in
 *   one transaction (a savepoint inside the caller's), where the update's
 *   row lock keeps every other writer out until commit; an unmoved version
 *   rolls it back. A read after commit could see a later writer's version
 *   and let this instance overwrite that write: the trigger concurrency
 *   spec proves it would.
 *
 * A save with the check disabled first locks the row and reads its version,
 * so the same proof applies (the lock leaves nothing to race with).
 */
export const triggerVersionStrategy: VersionStrategy = {
  async update(u: RowUpdate): Promise<UpdateResult> {
    const { db, session, meta, policy, pk } = u;
    const triggers = triggersOf(db, meta);
    const checked = policy.check && policy.held !== undefined;
    const guard = guardOf(db, meta, triggers);
    const statement = (held: number, guarded: boolean): Statement => {
      const returning = guarded ? guard : undefined;
      const sql = updateSql(db, meta, { changed: u.changed, versionSet: undefined, checked: true, returning });
      const bindings = [...u.values, meta.pk.field.toDb(pk as never), held];
      if (returning !== undefined) bindings.push(held);
      return { sql, bindings, method: 'update', returning: returning !== undefined };
    };

    if (checked && guard !== undefined) {
      const r = await runGuarded(db, session, statement(policy.held!, true), triggers, meta, pk);
      if (r.rowCount === 0) throw await conflict(db, session, meta, u.target, pk, 'update', policy.held, true);
      return { version: versionFromDb(meta, pk, r.rows[0]?.[meta.version!.column]) };
    }

    // Inside the caller's transaction this is a savepoint, so a missing trigger undoes only this write.
    const outcome = await inTransaction(db, session, true, async (s): Promise<Outcome> => {
      const held = checked ? policy.held! : await lockedVersion(db, s, meta, pk);
      if (held === null) return { matched: false };
      const r = await runGuarded(db, s, statement(held, guard !== undefined), triggers, meta, pk);
      if (r.rowCount === 0) return { matched: false };
      // Read inside the transaction: a version the library cannot use rolls the write back.
      const now = guard !== undefined ? versionFromDb(meta, pk, r.rows[0]?.[meta.version!.column]) : await currentVersion(db, s, meta, pk);
      if (now === null || now === held) throw missingTrigger(meta, pk);
      return { matched: true, version: now };
    });
    if (!outcome.matched) throw await conflict(db, session, meta, u.target, pk, 'update', policy.held, checked);
    return { version: outcome.version };
  },

  // Only the trigger knows the new version: a batch writes these rows one by one with update().
  batchNext: () => undefined,

  async bulkSet(db: Database, session: Session, meta: ModelMeta): Promise<undefined> {
    // Without its trigger the rows would be written unprotected. A bulk write
    // has no single version to see move, so ask the catalog (in the same
    // transaction, if any).
    const triggers = triggersOf(db, meta);
    const version = meta.version!;
    const target = { table: meta.table, column: version.column, name: versionTriggerName(meta.table, version.column) };
    const status = await runKnex(db, session, false, (runner) => triggers.status(runner, target));
    if (status !== 'present') throw missingTrigger(meta, undefined);
    return undefined;
  },
};

function triggersOf(db: Database, meta: ModelMeta): VersionTriggerDialect {
  const triggers = db.adapter.versionTriggers;
  if (triggers === undefined) throw new UsageError(`${meta.modelName}: TriggerVersionField needs a database with version triggers (SQLite, PostgreSQL or MySQL/MariaDB)`);
  return triggers;
}

/** The RETURNING guard's text for this model, kept; `undefined` where RETURNING cannot see the trigger. */
function guardOf(db: Database, meta: ModelMeta, triggers: VersionTriggerDialect): string | undefined {
  const text = cachedSql(db, meta, 'trigger-guard', () => triggers.returningGuard(versionColumn(db, meta)) ?? '');
  return text === '' ? undefined : text;
}

function missingTrigger(meta: ModelMeta, pk: unknown): MissingTriggerError {
  const column = meta.version!.column;
  return new MissingTriggerError({ model: meta.modelName, table: meta.table, column, trigger: versionTriggerName(meta.table, column), pk });
}

async function runGuarded(db: Database, session: Session, stmt: Statement, triggers: VersionTriggerDialect, meta: ModelMeta, pk: unknown) {
  try {
    return await execute(db, session, stmt);
  } catch (err) {
    if (!stmt.returning || !triggers.isGuardFailure(err)) throw err;
    // Reported as MissingTriggerError wherever this failure shows up again
    // (PostgreSQL ends the transaction for it: see db.transaction()).
    const missing = missingTrigger(meta, pk);
    recordTranslation(err, missing);
    throw missing;
  }
}

