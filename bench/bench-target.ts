import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Knex } from 'knex';
import { connect, Database } from '../lib';
import type { BenchSizes, TargetName } from './bench-options';
import { ensureMysqlDatabase, ensurePostgresDatabase } from '../spec/support/server-databases';
import { RawDriver } from './raw-driver';

/** One database under test, with the three ways of talking to it. */
export interface BenchEnv {
  readonly name: TargetName;
  /** The URL `connect()` took; the heap probe connects to it again. */
  readonly url: string;
  /** knex-concurrency's database. */
  readonly db: Database;
  /** The same Knex instance, for the hand-written baseline. */
  readonly knex: Knex;
  /** The bare driver, on connections borrowed from that Knex pool. */
  readonly raw: RawDriver;
  readonly sizes: BenchSizes;
  /** A table name with the run's prefix. */
  table(name: string): string;
}

let sqliteDir: string | undefined;

function sqliteFileUrl(): string {
  if (sqliteDir === undefined) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kc-bench-'));
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
    sqliteDir = dir;
  }
  return `sqlite:${path.join(sqliteDir, 'bench.db')}`;
}

/** The URL of a target's database, creating the database (or SQLite file directory) when needed. */
export async function targetUrl(name: TargetName, database: string): Promise<string> {
  switch (name) {
    case 'sqlite-file':
      return sqliteFileUrl();
    case 'sqlite-memory':
      return 'sqlite::memory:';
    case 'postgres':
      return ensurePostgresDatabase(database, 5000);
    case 'mysql':
      return ensureMysqlDatabase(database, 5000);
  }
}

/** Connects to a target. Close it with `closeTarget`. */
export function openTarget(name: TargetName, url: string, sizes: BenchSizes, tablePrefix: string): BenchEnv {
  const db = connect(url);
  return {
    name,
    url,
    db,
    knex: db.knex,
    raw: new RawDriver(db.knex, db.dialect),
    sizes,
    table: (t) => `${tablePrefix}${t}`,
  };
}

export async function closeTarget(env: BenchEnv): Promise<void> {
  await env.raw.close();
  await env.db.close();
}
