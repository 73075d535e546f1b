import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { connect, Database } from '../lib';
import type { BenchSizes, ConnectKind, TargetName } from './bench-options';
import { ensureMysqlDatabase, ensurePostgresDatabase } from '../spec/support/server-databases';
import { RawDriver } from './raw-driver';

/** One database under test, with the three ways of talking to it. */
export interface BenchEnv {
  readonly name: TargetName;
  /** How `connect()` got the database. */
  readonly connect: ConnectKind;
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
  /** The Knex instance the bench built and passed to `connect()`, which `db.close()` leaves open. */
  readonly callerKnex: Knex | undefined;
}

/**
 * A Knex config for `url` as an application's knexfile would hold it, with
 * the same pool sizes and SQLite settings (WAL, busy timeout) the library
 * uses for a URL, so that the three ways of connecting differ only in who
 * built what.
 */
export function knexConfigFor(url: string): Knex.Config {
  if (url.startsWith('sqlite:')) {
    const filename = url.slice('sqlite:'.length);
    if (filename === ':memory:') return { client: 'sqlite3', connection: { filename }, useNullAsDefault: true, pool: { min: 1, max: 1 } };
    type Conn = { exec(sql: string, cb: (err: Error | null) => void): void };
    const afterCreate = (conn: Conn, done: (err: Error | null, conn: Conn) => void) =>
      conn.exec('PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 5000; PRAGMA synchronous = NORMAL', (err) => done(err, conn));
    return { client: 'sqlite3', connection: { filename }, useNullAsDefault: true, pool: { min: 1, max: 4, afterCreate } };
  }
  return { client: url.startsWith('mysql') ? 'mysql2' : 'pg', connection: url };
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
export function openTarget(name: TargetName, url: string, sizes: BenchSizes, tablePrefix: string, kind: ConnectKind = 'url'): BenchEnv {
  const callerKnex = kind === 'instance' ? knexFactory(knexConfigFor(url)) : undefined;
  const db = callerKnex !== undefined ? connect(callerKnex) : connect(kind === 'config' ? knexConfigFor(url) : url);
  return {
    name,
    connect: kind,
    callerKnex,
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
  await env.callerKnex?.destroy();
}
