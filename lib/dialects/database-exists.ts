import * as fs from 'node:fs';
import type { Knex } from 'knex';
import type { DialectName } from './dialect-adapter';
import { sqliteFilename } from './migration-lock-for';

/**
 * Whether the database exists, found out without creating it. Opening a
 * SQLite file that is not there creates it (and its folder must exist), so a
 * command that only reads (`migrate status`) asks first; a memory database
 * and a server database exist once reachable.
 */
export function databaseExists(knex: Knex, dialect: DialectName): boolean {
  if (dialect !== 'sqlite') return true;
  const filename = sqliteFilename(knex);
  if (filename === '' || filename === ':memory:' || filename.includes('mode=memory')) return true;
  return fs.existsSync(filename);
}
