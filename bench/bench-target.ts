import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import knexFactory, { Knex } from 'knex';
import { connect, Database } from '../lib';
import type { BenchSizes, TargetName } from './bench-options';
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

const PG_ADMIN_URL = process.env.PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
const MYSQL_ADMIN_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function ensurePostgresDatabase(database: string): Promise<string> {
  const admin = knexFactory({ client: 'pg', connection: { connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 5000 }, pool: { min: 0, max: 1 } });
  try {
    const found = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [database]);
    if (found.rows.length === 0) {
      await admin.raw(`CREATE DATABASE "${database}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04' && err.code !== '23505') throw err; // created meanwhile by a parallel run
      });
    }
  } finally {
    await admin.destroy();
  }
  return withDatabase(PG_ADMIN_URL, database);
}

async function ensureMysqlDatabase(database: string): Promise<string> {
  const u = new URL(MYSQL_ADMIN_URL);
  const admin = knexFactory({
    client: 'mysql2',
    connection: { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password), connectTimeout: 5000 },
    pool: { min: 0, max: 1 },
  });
  try {
    await admin.raw(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.destroy();
  }
  return withDatabase(MYSQL_ADMIN_URL, database);
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
      return ensurePostgresDatabase(database);
    case 'mysql':
      return ensureMysqlDatabase(database);
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
