import type { Knex } from 'knex';

/** A version trigger to create, drop or look for. */
export interface VersionTriggerTarget {
  /** The table as a model names it (`schema.table` where the database has schemas). */
  readonly table: string;
  /** The version column. */
  readonly column: string;
  /** The trigger's deterministic name (see `versionTriggerName`). */
  readonly name: string;
}

/** A trigger as the database catalog shows it. */
export interface CatalogTrigger {
  readonly name: string;
  /** The table it belongs to, schema-qualified when it is outside the current schema. */
  readonly table: string;
  /** The table's columns now, to tell which one the trigger was made for. */
  readonly columns: readonly string[];
  /** `false` when the database keeps it but does not fire it (PostgreSQL `DISABLE TRIGGER`). */
  readonly enabled: boolean;
}

export type TriggerStatus = 'present' | 'disabled' | 'missing';

/**
 * How one database keeps a version in a trigger: its DDL, its catalog, and
 * how a save reads back the version the trigger produced.
 */
export interface VersionTriggerDialect {
  /**
   * The RETURNING list of a save's UPDATE, when RETURNING sees the trigger's
   * change: the new version, then an item that fails the whole statement
   * when the version did not move (one binding: the version held). A failed
   * statement writes nothing, so a missing trigger costs no extra round
   * trip. `undefined`: read the version back in the save's transaction.
   */
  returningGuard(quotedColumn: string): string | undefined;
  /** Whether `err` is the failure of `returningGuard`'s check. */
  isGuardFailure(err: unknown): boolean;
  /** Creates the trigger unless it exists; `true` when it created it. */
  create(knex: Knex, target: VersionTriggerTarget): Promise<boolean>;
  /** Drops the trigger (and what it needs) if it exists; `true` when there was one. */
  drop(knex: Knex, target: VersionTriggerTarget): Promise<boolean>;
  /** Every trigger of the current database (or schema search path) whose name starts with `prefix`. */
  list(knex: Knex, prefix: string): Promise<CatalogTrigger[]>;
  status(knex: Knex, target: VersionTriggerTarget): Promise<TriggerStatus>;
  /** The table's columns, or `undefined` when there is no such table. */
  columns(knex: Knex, table: string): Promise<string[] | undefined>;
}

/** `schema.table` -> `[schema, table]`; an unqualified name has no schema. */
export function splitTable(table: string): [string | undefined, string] {
  const dot = table.lastIndexOf('.');
  return dot < 0 ? [undefined, table] : [table.slice(0, dot), table.slice(dot + 1)];
}

/** The rows of a raw query's answer, whatever the driver's shape (an array, `{ rows }`, or mysql2's `[rows, fields]`). */
export function rawRows(answer: unknown): Record<string, unknown>[] {
  if (Array.isArray(answer)) return (Array.isArray(answer[0]) ? answer[0] : answer) as Record<string, unknown>[];
  return ((answer as { rows?: Record<string, unknown>[] }).rows ?? []) as Record<string, unknown>[];
}
