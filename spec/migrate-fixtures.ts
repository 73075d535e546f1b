import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect, Database } from '../lib';
import { configForUrl } from '../lib/dialects/adapter-for';
import { RUN_DB, sqliteUrl } from './support/dialects';
import type { DialectContext } from './support/for-each-dialect';
import { withDatabase } from './support/server-databases';

/**
 * Scenarios for the `bin/migrate` specs: a fresh database and a folder of
 * migration files per scenario, and the real CLI run as a child process.
 */

/** The repository root (specs run from dist/spec). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO_ROOT, 'bin', 'migrate');
// Inside the repository (and git-ignored), so that migrations resolve
// `knex-concurrency` the way a user's do: through package.json.
const TMP_ROOT = path.join(REPO_ROOT, '.kc-tmp', RUN_DB);

const quiet = (): void => {};
const QUIET = { warn: quiet, error: quiet, deprecate: quiet, debug: quiet };

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `node bin/migrate args` with `env` added to (a DATABASE_URL-free copy of) this process's environment. */
export function startCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): { child: ChildProcess; done: Promise<CliResult> } {
  const { DATABASE_URL: _none, ...env } = process.env;
  const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? REPO_ROOT, env: { ...env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return { child, done: collect(child) };
}

/** Runs `node bin/migrate args` to the end. */
export function runCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** Resolves once `file` exists (a migration writes it to say "I am running"). */
export async function waitForFile(file: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${file}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** One scenario: its own database (named after KC_TEST_DB) and migrations folder. */
export class MigrateScenario {
  readonly database: string;
  readonly dir: string;
  #url: string | undefined;
  #db: Database | undefined;

  constructor(
    readonly d: DialectContext,
    tag: string,
  ) {
    this.database = `${RUN_DB}_${tag}`;
    this.dir = path.join(TMP_ROOT, `${d.name}-${tag}`);
  }

  get url(): string {
    if (this.#url === undefined) throw new Error('MigrateScenario.url before setUp()');
    return this.#url;
  }

  /** Creates (or re-creates) the database and an empty migrations folder. */
  async setUp(): Promise<this> {
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    await this.#drop();
    const name = this.database;
    await this.d.pick({
      sqlite: async () => {},
      postgres: () => this.d.knex.raw(`CREATE DATABASE "${name}"`),
      mysql: () => this.d.knex.raw(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`),
    })();
    this.#url = this.d.pick({ sqlite: sqliteUrl(name), postgres: withDatabase(this.d.url, name), mysql: withDatabase(this.d.url, name) });
    return this;
  }

  async tearDown(): Promise<void> {
    await this.#db?.close();
    this.#db = undefined;
    await this.#drop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  async #drop(): Promise<void> {
    const name = this.database;
    await this.d.pick({
      sqlite: async () => {
        const file = sqliteUrl(name).replace(/^sqlite:/, '');
        for (const suffix of ['', '-wal', '-shm', '-journal', '-migrate-lock']) fs.rmSync(file + suffix, { force: true });
      },
      postgres: () => this.d.knex.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
      mysql: () => this.d.knex.raw(`DROP DATABASE IF EXISTS \`${name}\``),
    })();
  }

  /**
   * A connection to the scenario's database (one per scenario), closed by
   * tearDown(). Knex's logger is silenced: its migrator logs its own copy of
   * every failure that the specs provoke on purpose.
   */
  get db(): Database {
    this.#db ??= connect({ ...configForUrl(this.url), log: QUIET });
    return this.#db;
  }

  write(name: string, source: string): string {
    const file = path.join(this.dir, name);
    fs.writeFileSync(file, source);
    return file;
  }

  remove(name: string): void {
    fs.rmSync(path.join(this.dir, name));
  }

  /** `bin/migrate <args> --url <scenario> --dir <scenario>`. */
  run(args: readonly string[] = [], env?: Record<string, string>): Promise<CliResult> {
    return runCli([...args, '--url', this.url, '--dir', this.dir], { env });
  }

  start(args: readonly string[] = [], env?: Record<string, string>): { child: ChildProcess; done: Promise<CliResult> } {
    return startCli([...args, '--url', this.url, '--dir', this.dir], { env });
  }

  /** Names in Knex's history, in order. */
  async recorded(): Promise<string[]> {
    const knex = this.db.knex;
    if (!(await knex.schema.hasTable('knex_migrations'))) return [];
    return (await knex('knex_migrations').orderBy('id').select('name')).map((r: { name: string }) => r.name);
  }

  async hasTable(table: string): Promise<boolean> {
    return this.db.knex.schema.hasTable(table);
  }
}

/** A TypeScript migration that creates `table` (with a version column) and drops it on the way down. */
export function createTableMigration(table: string, extraUp = ''): string {
  return `import type { Knex } from 'knex';
import { addVersionColumn } from 'knex-concurrency';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('${table}', (t) => {
    t.increments('id');
    addVersionColumn(t);
  });
  ${extraUp}
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('${table}');
}
`;
}
