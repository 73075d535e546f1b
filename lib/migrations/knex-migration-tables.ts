import type { Knex } from 'knex';
import type { HistoryRow } from './migration-status';

interface Row {
  name: string;
  batch: number | string;
  migration_time: Date | string | number | null;
}

/**
 * Knex's own two tables: the history (`knex_migrations`) and the lock row
 * (`knex_migrations_lock`). Knex creates them; this reads them, and repairs
 * the lock row.
 */
export class KnexMigrationTables {
  readonly lockTable: string;

  constructor(readonly table: string) {
    this.lockTable = `${table}_lock`;
  }

  /** Has Knex create its tables, the way it wants them (call under the migration lock: creation races). */
  async ensure(knex: Knex, config: Knex.MigratorConfig): Promise<void> {
    await knex.migrate.list(config);
  }

  /** The history, oldest first; empty when the table does not exist yet (reading never creates it). */
  async history(knex: Knex): Promise<HistoryRow[]> {
    if (!(await knex.schema.hasTable(this.table))) return [];
    const rows: Row[] = await knex(this.table).select('name', 'batch', 'migration_time').orderBy('id');
    return rows.map((r) => ({ name: r.name, batch: Number(r.batch), appliedAt: r.migration_time === null ? null : new Date(r.migration_time) }));
  }

  /**
   * Knex's lock is a row that a killed run leaves set, and that concurrent
   * first runs can duplicate (each inserts one); either way Knex refuses
   * every later run. Under our lock no other runner is active, so anything
   * but one unlocked row is stale. Returns whether it had to be reset.
   */
  async repairLock(knex: Knex, config: Knex.MigratorConfig): Promise<boolean> {
    if (!(await knex.schema.hasTable(this.lockTable))) return false;
    const rows: { is_locked: unknown }[] = await knex(this.lockTable).select('is_locked');
    if (rows.length === 1 && Number(rows[0].is_locked) === 0) return false;
    await knex.migrate.forceFreeMigrationsLock(config);
    return true;
  }
}
