import type { Knex } from 'knex';
import type { Database } from './database';
import type { VersionTriggerDialect } from './dialects/version-trigger-dialect';
import { MissingTriggerError, UsageError } from './errors';
import { execute, Statement } from './executor';
import { integerFromDb } from './fields/integer-field';
import { versionTriggerName } from './migrations/version-trigger-name';
import type { ModelMeta } from './model-meta';
import { conflict, currentVersion, lockedVersion, quote, triggerVersionedUpdate, type UpdateResult, type VersionPolicy } from './persistence';
import { triggerReadBackHook } from './trigger-read-back-hook';

type ChangedSets = { readonly sets: readonly string[]; readonly bindings: readonly unknown[] };
type Outcome = { readonly matched: false } | { readonly matched: true; readonly version: number };

/**
 * A compare-and-swap update whose version a database trigger raises. The
 * instance must end up holding exactly the version its own update
 * produced, and an update that no trigger bumped must write nothing:
 *
 * - where RETURNING sees the trigger's change (PostgreSQL), one statement
 *   returns the new version and fails, writing nothing, if it did not move;
 * - elsewhere (SQLite, MySQL), the update and a read of the version run in
 *   one transaction (a savepoint inside the caller's), where the update's
 *   row lock keeps every other writer out until commit; an unmoved version
 *   rolls it back. A read after commit could see a later writer's version
 *   and let this instance overwrite that write: the spec proves it would.
 *
 * A save with the check disabled first locks the row and reads its version,
 * so the same proof applies (the lock leaves nothing to race with).
 */
export async function updateTriggerVersioned(
  db: Database,
  meta: ModelMeta,
  target: object,
  pk: unknown,
  changed: ChangedSets,
  policy: VersionPolicy,
): Promise<UpdateResult> {
  const version = meta.version!;
  const triggers = db.adapter.versionTriggers;
  if (triggers === undefined) throw new UsageError(`${meta.modelName}: TriggerVersionField needs a database with version triggers (SQLite, PostgreSQL or MySQL/MariaDB)`);
  const checked = policy.check && policy.held !== undefined;
  const runner = db.runner();
  const missing = (): MissingTriggerError =>
    new MissingTriggerError({ model: meta.modelName, table: meta.table, column: version.column, trigger: versionTriggerName(meta.table, version.column), pk });
  const guard = triggers.returningGuard(quote(db, version.column));
  const returning = guard !== undefined;
  const run = async (on: Knex | Knex.Transaction, held: number, guarded: boolean) => {
    const stmt = triggerVersionedUpdate(db, meta, pk, changed, held, guarded && guard !== undefined ? { sql: guard, bindings: [held] } : undefined);
    return runGuarded(db, on, stmt, triggers, missing);
  };

  const racy = triggerReadBackHook.racy;
  if (racy !== undefined && checked) {
    const r = await run(runner, policy.held!, false);
    if (r.rowCount === 0) throw await conflict(db, runner, meta, target, pk, 'update', policy.held, true);
    await racy({ knex: db.knex, table: meta.table, column: version.column, pk, held: policy.held! });
    return { version: (await currentVersion(db, runner, meta, pk)) ?? undefined };
  }

  if (checked && returning) {
    const r = await run(runner, policy.held!, true);
    if (r.rowCount === 0) throw await conflict(db, runner, meta, target, pk, 'update', policy.held, true);
    return { version: integerFromDb(r.rows[0]?.[version.column]) ?? undefined };
  }

  // Inside the caller's transaction this is a savepoint, so a missing trigger undoes only this write.
  const outcome = await db.transaction(async (trx): Promise<Outcome> => {
    const held = checked ? policy.held! : await lockedVersion(db, trx, meta, pk);
    if (held === null) return { matched: false };
    const r = await run(trx, held, returning);
    if (r.rowCount === 0) return { matched: false };
    const now = returning ? integerFromDb(r.rows[0]?.[version.column]) : await currentVersion(db, trx, meta, pk);
    if (now === null || now === held) throw missing();
    return { matched: true, version: now };
  });
  if (!outcome.matched) throw await conflict(db, runner, meta, target, pk, 'update', policy.held, checked);
  return { version: outcome.version };
}

async function runGuarded(db: Database, on: Knex | Knex.Transaction, stmt: Statement, triggers: VersionTriggerDialect, missing: () => MissingTriggerError) {
  try {
    return await execute(db, on, stmt);
  } catch (err) {
    if (stmt.returning && triggers.isGuardFailure(err)) throw missing();
    throw err;
  }
}
