import { VersionField, type VersionKind } from './version-field';

/**
 * A version kept by a database trigger that raises it by exactly 1 on every
 * UPDATE of the row: from the model, from a bulk `query().update()`, and
 * from raw SQL or other applications that bypass the model. So a stale copy
 * conflicts even after a write this library never saw.
 *
 * Inserts write version 1. `save()` does not write the version column: it
 * runs `UPDATE ... WHERE pk = ? AND version = ?` and then holds exactly the
 * version its own update produced (`RETURNING` on PostgreSQL; a read in the
 * save's own transaction on SQLite and MySQL, where no other writer can
 * touch the row before commit). A save whose version did not move found no
 * trigger: it is rolled back and raises `MissingTriggerError`.
 *
 * Create the trigger in the migration that creates the table, with
 * `createVersionTrigger(knex, table, column)`. Declare the attribute
 * `readonly`: the database owns it, and `create()` does not accept it.
 *
 * @example
 * ```ts
 * // migration
 * await knex.schema.createTable('accounts', (t) => {
 *   t.increments('id');
 *   t.integer('balance').notNullable();
 *   addVersionColumn(t);
 * });
 * await createVersionTrigger(knex, 'accounts', 'version');
 *
 * // model
 * class Account extends Model {
 *   static table = 'accounts';
 *   static fields = { id: new AutoField(), balance: new IntegerField(), version: new TriggerVersionField() };
 *   declare id: number;
 *   declare balance: number;
 *   declare readonly version: number;
 * }
 * ```
 */
export class TriggerVersionField extends VersionField {
  override readonly canSkipIncrement = false;

  initialVersion(): number {
    return 1;
  }

  readonly versionKind: VersionKind = 'trigger';
}
