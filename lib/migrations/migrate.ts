import { connect, ConnectTarget } from '../connect';
import { Database } from '../database';
import type { MigrationRun, MigratorOptions } from './migration-events';
import { Migrator } from './migrator';

/**
 * Applies every pending migration, as `bin/migrate` does: connects (unless
 * given a `Database`), takes the migration lock, runs Knex's migrator, and
 * closes what it opened. Safe to call from every instance of an application
 * at start-up: one applies, the others wait and find nothing to do.
 *
 * @example
 * ```ts
 * import { migrate } from 'knex-concurrency';
 *
 * const run = await migrate(process.env.DATABASE_URL!, { directory: './migrations' });
 * if (run.batch !== null) console.log(`applied batch ${run.batch}`);
 * ```
 */
export async function migrate(target: ConnectTarget | Database, options: MigratorOptions = {}): Promise<MigrationRun> {
  const db = target instanceof Database ? target : connect(target);
  try {
    return await new Migrator(db, options).latest();
  } finally {
    if (db !== target) await db.close();
  }
}
