import { createHash } from 'node:crypto';
import type { Knex } from 'knex';

/**
 * The checksum of a migration file's text: SHA-256 over its content with
 * line endings normalised, so that a checkout that turns LF into CRLF does
 * not count as an edit.
 */
export function checksumOf(source: string): string {
  return createHash('sha256').update(source.replace(/\r\n?/g, '\n')).digest('hex');
}

/**
 * The checksums of applied migrations, kept in a table of their own
 * (`knex_migrations_checksums`) so that Knex's history table stays exactly
 * as Knex expects it. Writes take the runner the migration itself ran on,
 * so a checksum commits or rolls back with the migration.
 */
export class MigrationChecksums {
  constructor(readonly table: string) {}

  /** Creates the table if needed (under the migration lock: creation is not concurrency-safe everywhere). */
  async ensure(knex: Knex): Promise<void> {
    if (await knex.schema.hasTable(this.table)) return;
    await knex.schema.createTable(this.table, (t) => {
      t.string('name', 255).primary();
      t.string('checksum', 64).notNullable();
      t.timestamp('recorded_at').notNullable();
    });
  }

  /** name -> checksum; empty when the table does not exist yet (reading never creates it). */
  async read(knex: Knex): Promise<Map<string, string>> {
    if (!(await knex.schema.hasTable(this.table))) return new Map();
    const rows: { name: string; checksum: string }[] = await knex(this.table).select('name', 'checksum');
    return new Map(rows.map((r) => [r.name, r.checksum]));
  }

  async record(runner: Knex | Knex.Transaction, name: string, checksum: string): Promise<void> {
    await runner(this.table).where({ name }).delete();
    await runner(this.table).insert({ name, checksum, recorded_at: new Date() });
  }

  async forget(runner: Knex | Knex.Transaction, names: readonly string[]): Promise<void> {
    if (names.length > 0) await runner(this.table).whereIn('name', names).delete();
  }
}
