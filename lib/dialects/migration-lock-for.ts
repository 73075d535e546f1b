import type { Knex } from 'knex';
import type { DialectName } from './dialect-adapter';
import { MigrationLock, NoMigrationLock } from './migration-lock';
import { MysqlMigrationLock } from './mysql/mysql-migration-lock';
import { PostgresMigrationLock } from './postgres/postgres-migration-lock';
import { SqliteMigrationLock } from './sqlite/sqlite-migration-lock';

/** The file of a SQLite connection (`''` or `:memory:` for a memory database). */
export function sqliteFilename(knex: Knex): string {
  const settings = (knex.client as { connectionSettings?: { filename?: string } }).connectionSettings;
  return String(settings?.filename ?? '');
}

/**
 * The session-scoped lock that serialises migration runs on `knex`'s
 * database. `name` tells apart independent migration histories (it is the
 * migrations table) on PostgreSQL and MySQL; a SQLite file has one lock.
 */
export function migrationLockFor(knex: Knex, dialect: DialectName, name: string): MigrationLock {
  switch (dialect) {
    case 'postgres':
      return new PostgresMigrationLock(knex, name);
    case 'mysql':
      return new MysqlMigrationLock(knex, name);
    case 'sqlite': {
      const filename = sqliteFilename(knex);
      // A memory database lives on one connection of one process: no other runner can reach it.
      if (filename === '' || filename === ':memory:' || filename.includes('mode=memory')) return new NoMigrationLock();
      return new SqliteMigrationLock(filename);
    }
  }
}
