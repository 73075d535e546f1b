import type { Knex } from 'knex';
import { Database } from '../database';
import { adapterForKnex } from '../dialects/adapter-for';
import type { TriggerStatus, VersionTriggerDialect, VersionTriggerTarget } from '../dialects/version-trigger-dialect';
import { UsageError } from '../errors';
import { VERSION_TRIGGER_PREFIX, versionTriggerName } from '../dialects/version-trigger-name';

/** A Knex instance or transaction (as a migration receives it), or a connected `Database`. */
export type TriggerConnection = Knex | Database;

/** A version trigger this package created, as `listVersionTriggers` finds it. */
export interface InstalledVersionTrigger {
  readonly name: string;
  /** Its table; schema-qualified on PostgreSQL when outside the current schema. */
  readonly table: string;
  /** The column it keeps, or `null` when no column of the table has this trigger's name (the column or table was renamed, or the column dropped). */
  readonly column: string | null;
  /** `false` when the database keeps the trigger but does not fire it (PostgreSQL `DISABLE TRIGGER`). */
  readonly enabled: boolean;
}

/** @internal The Knex handle and the dialect's trigger support for `target`. */
export function triggerSupport(target: TriggerConnection, caller: string): { knex: Knex; dialect: VersionTriggerDialect } {
  const knex = target instanceof Database ? target.knex : target;
  if (typeof knex !== 'function' || typeof (knex as Partial<Knex>).client !== 'object') {
    throw new UsageError(`${caller}() takes the migration's knex (or a Database from connect()) first`);
  }
  const dialect = (target instanceof Database ? target.adapter : adapterForKnex(knex)).versionTriggers;
  if (dialect === undefined) throw new UsageError(`${caller}(): this database has no version trigger support`);
  return { knex, dialect };
}

/** @internal The trigger for `table.column`, after checking the names. */
export function triggerTarget(table: unknown, column: unknown, caller: string): VersionTriggerTarget {
  if (typeof table !== 'string' || table.trim() === '') throw new UsageError(`${caller}() needs a table name, not ${String(table)}`);
  if (typeof column !== 'string' || column.trim() === '') throw new UsageError(`${caller}() needs the version column's name, not ${String(column)}`);
  return { table, column, name: versionTriggerName(table, column) };
}

/**
 * Creates the trigger that raises `table.column` by exactly 1 on every
 * UPDATE, for a `TriggerVersionField`. Creating it again is harmless;
 * resolves `true` when it created it, `false` when it was there already. Call
 * it in the migration that creates the table, and again after any change
 * that rebuilds the table (on SQLite, `.alter()` and some `dropColumn`s
 * copy the table and lose its triggers).
 *
 * PostgreSQL and MySQL/MariaDB get a BEFORE UPDATE trigger
 * (`NEW.version = OLD.version + 1`); SQLite an AFTER UPDATE trigger that
 * bumps the row once, also with `PRAGMA recursive_triggers = ON`, and
 * refuses a raw UPDATE that sets the version to anything but its next value.
 *
 * @example
 * ```ts
 * export async function up(knex: Knex) {
 *   await knex.schema.createTable('accounts', (t) => {
 *     t.increments('id');
 *     addVersionColumn(t);
 *   });
 *   await createVersionTrigger(knex, 'accounts', 'version');
 * }
 * export async function down(knex: Knex) {
 *   await dropVersionTrigger(knex, 'accounts', 'version');
 *   await knex.schema.dropTable('accounts');
 * }
 * ```
 */
export async function createVersionTrigger(knex: TriggerConnection, table: string, column: string): Promise<boolean> {
  const target = triggerTarget(table, column, 'createVersionTrigger');
  const support = triggerSupport(knex, 'createVersionTrigger');
  // SQLite and PostgreSQL would accept a trigger on a misspelled column and fail every UPDATE later.
  const columns = await support.dialect.columns(support.knex, table);
  if (columns === undefined) throw new UsageError(`createVersionTrigger(): there is no table ${table}; create the table first`);
  if (!columns.includes(column)) throw new UsageError(`createVersionTrigger(): ${table} has no column ${column} (it has ${columns.join(', ')}); add it with addVersionColumn(t, '${column}')`);
  return support.dialect.create(support.knex, target);
}

/**
 * Drops the version trigger of `table.column` (on PostgreSQL, its function
 * too). Dropping a trigger that is not there is harmless; resolves `true`
 * when there was one. Saves of a `TriggerVersionField` on that table fail
 * with `MissingTriggerError` until it is created again.
 *
 * @example
 * ```ts
 * await dropVersionTrigger(knex, 'accounts', 'version');
 * ```
 */
export async function dropVersionTrigger(knex: TriggerConnection, table: string, column: string): Promise<boolean> {
  const target = triggerTarget(table, column, 'dropVersionTrigger');
  const support = triggerSupport(knex, 'dropVersionTrigger');
  return support.dialect.drop(support.knex, target);
}

/**
 * Every version trigger this package created in the database (on
 * PostgreSQL, in every schema), with the column each keeps.
 *
 * @example
 * ```ts
 * for (const t of await listVersionTriggers(knex)) console.log(t.table, t.column, t.name);
 * ```
 */
export async function listVersionTriggers(knex: TriggerConnection): Promise<InstalledVersionTrigger[]> {
  const support = triggerSupport(knex, 'listVersionTriggers');
  const found = await support.dialect.list(support.knex, VERSION_TRIGGER_PREFIX);
  return found.map((t) => ({
    name: t.name,
    table: t.table,
    column: t.columns.find((c) => versionTriggerName(t.table, c) === t.name) ?? null,
    enabled: t.enabled,
  }));
}

/** @internal Whether the trigger of `table.column` exists and fires. */
export async function versionTriggerStatus(knex: TriggerConnection, table: string, column: string): Promise<TriggerStatus> {
  const target = triggerTarget(table, column, 'versionTriggerStatus');
  const support = triggerSupport(knex, 'versionTriggerStatus');
  return support.dialect.status(support.knex, target);
}
