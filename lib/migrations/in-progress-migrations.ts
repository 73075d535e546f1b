import * as os from 'node:os';
import type { Knex } from 'knex';

/** A migration that was started and whose outcome is not recorded yet. */
export interface InProgressMigration {
  readonly name: string;
  readonly direction: 'up' | 'down';
  readonly startedAt: Date;
  /** `pid 123 on host`: which process started it. */
  readonly runner: string;
}

interface Row {
  name: string;
  direction: string;
  started_at: Date | string | number;
  runner: string;
}

/**
 * Markers written just before each migration runs, on the same runner as the
 * migration, so that they share its fate: where the migration's changes roll
 * back (a transaction on PostgreSQL or SQLite), so does its marker; where they
 * cannot (MySQL commits DDL at once, or `transaction: false`), the marker
 * survives a crash or a failure and tells the next run which migration may be
 * half-applied. A marker whose outcome is recorded in Knex's history is
 * deleted by the next run under the lock.
 */
export class InProgressMigrations {
  constructor(readonly table: string) {}

  async ensure(knex: Knex): Promise<void> {
    if (await knex.schema.hasTable(this.table)) return;
    await knex.schema.createTable(this.table, (t) => {
      t.string('name', 255).primary();
      t.string('direction', 4).notNullable();
      t.timestamp('started_at').notNullable();
      t.string('runner', 255).notNullable();
    });
  }

  /** Every marker; none when the table does not exist yet (reading never creates it). */
  async read(knex: Knex): Promise<InProgressMigration[]> {
    if (!(await knex.schema.hasTable(this.table))) return [];
    const rows: Row[] = await knex(this.table).select('*').orderBy('name');
    return rows.map((r) => ({
      name: r.name,
      direction: r.direction === 'down' ? 'down' : 'up',
      startedAt: new Date(r.started_at),
      runner: r.runner,
    }));
  }

  async mark(runner: Knex | Knex.Transaction, name: string, direction: 'up' | 'down'): Promise<void> {
    await runner(this.table).where({ name }).delete();
    await runner(this.table).insert({ name, direction, started_at: new Date(), runner: `pid ${process.pid} on ${os.hostname()}` });
  }

  async clear(knex: Knex, names: readonly string[]): Promise<void> {
    if (names.length > 0) await knex(this.table).whereIn('name', names).delete();
  }
}

/** Whether Knex's history confirms the marker's outcome (applied for `up`, gone for `down`). */
export function isSettled(marker: InProgressMigration, recorded: ReadonlySet<string>): boolean {
  return marker.direction === 'up' ? recorded.has(marker.name) : !recorded.has(marker.name);
}
