import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureMysqlDatabase, ensurePostgresDatabase } from './server-databases';

/**
 * Which databases the specs run on, and where. Every behaviour spec runs on
 * each of them from one file (see `forEachDialect`).
 *
 * - `PG_URL` (default `postgres://root@127.0.0.1:5432/test`) and `MYSQL_URL`
 *   (default `mysql://root@127.0.0.1:3306/test`) are admin connections; the
 *   specs create and use the database named by `KC_TEST_DB` (default
 *   `kc_test`), so parallel runs with different names do not collide.
 * - `TEST_DIALECTS=sqlite,postgres` limits the run.
 * - A server that does not answer is skipped loudly, unless
 *   `REQUIRE_ALL_DIALECTS=1`, which makes it a failure.
 */
export type TestDialectName = 'sqlite' | 'postgres' | 'mysql';

export const ALL_DIALECTS: readonly TestDialectName[] = ['sqlite', 'postgres', 'mysql'];
export const RUN_DB = process.env.KC_TEST_DB ?? 'kc_test';
export const REQUIRE_ALL = process.env.REQUIRE_ALL_DIALECTS === '1';

if (!/^[a-z_][a-z0-9_]{0,40}$/.test(RUN_DB)) throw new Error(`KC_TEST_DB must be a simple lower-case identifier, not ${RUN_DB}`);

export function selectedDialects(): TestDialectName[] {
  const only = process.env.TEST_DIALECTS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!only) return [...ALL_DIALECTS];
  for (const d of only) if (!ALL_DIALECTS.includes(d as TestDialectName)) throw new Error(`TEST_DIALECTS: unknown dialect ${d}`);
  return ALL_DIALECTS.filter((d) => only.includes(d));
}

let sqliteDir: string | undefined;

/** A fresh directory for this run's SQLite files, removed at exit. */
export function sqliteDirectory(): string {
  if (sqliteDir === undefined) {
    sqliteDir = fs.mkdtempSync(path.join(os.tmpdir(), `kc-${RUN_DB}-`));
    const dir = sqliteDir;
    process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return sqliteDir;
}

/** A SQLite file URL for `name` in this run's directory. */
export function sqliteUrl(name = 'test'): string {
  return `sqlite:${path.join(sqliteDirectory(), `${name}.db`)}`;
}

/** The URL of this run's test database; creates the database if needed. Rejects when the server does not answer. */
async function prepare(name: TestDialectName): Promise<string> {
  if (name === 'sqlite') return sqliteUrl();
  return name === 'postgres' ? ensurePostgresDatabase(RUN_DB, 3000) : ensureMysqlDatabase(RUN_DB, 3000);
}

export interface Availability {
  readonly url?: string;
  readonly error?: string;
}

const availability = new Map<TestDialectName, Promise<Availability>>();

/** Whether the dialect's server answers (checked once per run), and its test URL. */
export function availabilityOf(name: TestDialectName): Promise<Availability> {
  let a = availability.get(name);
  if (a === undefined) {
    a = prepare(name).then(
      (url) => ({ url }),
      (err: Error) => ({ error: err.message.split('\n')[0] }),
    );
    availability.set(name, a);
  }
  return a;
}

/** Dialects skipped so far in this run, with the reason. */
export const skipped = new Map<TestDialectName, string>();

/** Dialects that were required (`REQUIRE_ALL_DIALECTS=1`) but did not answer, with the reason. */
export const missing = new Map<TestDialectName, string>();
