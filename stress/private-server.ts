/**
 * A PostgreSQL or MariaDB server of our own, for fault injection: its own
 * data directory under the temporary directory and its own port, so that
 * stopping, killing or restarting it never touches the shared servers
 * (5432, 3306) other runs use. Used by `npm run stress -- --faults ...` and
 * by spec/server-restart.spec.ts.
 *
 * Run as root (as CI does), each server runs as its system user
 * (`postgres`, `mysql`); otherwise as the current user.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownDir, postgresBin, runAs, which } from '../cluster/server-binaries';
import { gone, processTree, signal } from '../cluster/process-tree';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import knexFactory from 'knex';

export type ServerDialect = 'postgres' | 'mysql';

/** `clean`: PostgreSQL's fast shutdown, MariaDB's normal one. `immediate`: no checkpoint, crash recovery at the next start. */
export type StopMode = 'clean' | 'immediate';

const DATABASE = 'kc_faults';

// The part of node-postgres' Client the probe uses (pg ships no types).
interface PgClient {
  on(event: 'error', listener: () => void): void;
  connect(): Promise<void>;
  query(sql: string): Promise<unknown>;
  end(): Promise<void>;
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Why a private server of `dialect` cannot run here, or `undefined` when it can. */
export function privateServerUnavailable(dialect: ServerDialect): string | undefined {
  if (dialect === 'postgres') return postgresBin() === undefined ? 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin' : undefined;
  if (which(['mariadbd', 'mysqld']) === undefined) return 'no mariadbd or mysqld binary';
  if (which(['mariadb-install-db', 'mysql_install_db']) === undefined) return 'no mariadb-install-db binary';
  return undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One private server. `start()` it, then `stop()`, `kill()` and `start()` again as often as needed; `destroy()` at the end. */
export abstract class PrivateServer {
  abstract readonly dialect: ServerDialect;
  readonly port: number;
  readonly dir: string;
  #child: ChildProcess | undefined;
  #exited: Promise<void> | undefined;
  #log: fs.WriteStream | undefined;
  #initialised = false;

  protected constructor(port: number, dir: string) {
    this.port = port;
    this.dir = dir;
  }

  /** A server of `dialect` on a free port, in a fresh directory under the temporary directory (not started). */
  static async create(dialect: ServerDialect, port?: number): Promise<PrivateServer> {
    const p = port ?? (await freePort());
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `kc-${dialect}-${p}-`));
    return dialect === 'postgres' ? new PostgresServer(p, dir) : new MariadbServer(p, dir);
  }

  /** The URL of the test database on this server. */
  abstract get url(): string;

  /** Whether the server process is running. */
  get running(): boolean {
    return this.#child !== undefined;
  }

  /** The server's own log (start-up, shutdown, crash recovery). */
  get logFile(): string {
    return path.join(this.dir, 'server.log');
  }

  /** Starts the server and resolves once it accepts connections (creating the data directory and the database the first time). */
  async start(timeoutMs = 60_000): Promise<void> {
    if (this.#child !== undefined) throw new Error(`${this.dialect} on ${this.port} is already running`);
    if (!this.#initialised) {
      this.initDataDirectory();
    }
    this.#log ??= fs.createWriteStream(this.logFile, { flags: 'a' });
    const { command, args, user } = this.command();
    const owner = runAs(user);
    const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...(owner ?? {}) });
    child.stdout!.pipe(this.#log, { end: false });
    child.stderr!.pipe(this.#log, { end: false });
    this.#child = child;
    let exitedEarly = false;
    this.#exited = new Promise((resolve) =>
      child.once('exit', () => {
        exitedEarly = true;
        if (this.#child === child) this.#child = undefined;
        resolve();
      }),
    );
    const until = Date.now() + timeoutMs;
    while (!(await this.probe())) {
      if (exitedEarly || Date.now() > until) {
        await this.kill();
        throw new Error(`${this.dialect} on port ${this.port} did not start; see ${this.logFile}:\n${this.logTail()}`);
      }
      await sleep(25);
    }
    if (!this.#initialised) {
      await this.createDatabase();
      this.#initialised = true;
    }
  }

  /** Stops the server and resolves once it and every process it started have exited. */
  async stop(mode: StopMode = 'clean'): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    await this.beforeStop(mode);
    const pids = processTree(child.pid!);
    // The server tells its own children (PostgreSQL's postmaster signals its backends).
    signal(child.pid!, this.stopSignal(mode));
    await this.#exited;
    // A postmaster waits for its children before it exits; this is a safety net.
    for (const pid of pids) signal(pid, 'SIGKILL');
    await gone(pids);
  }

  /**
   * Sends `signal` to the server process alone (PostgreSQL: SIGTERM begins a
   * smart shutdown, which waits for open sessions); `exited` resolves when it
   * has gone.
   */
  signal(signal: NodeJS.Signals): { exited: Promise<void> } {
    this.#child?.kill(signal);
    return { exited: this.#exited ?? Promise.resolve() };
  }

  /**
   * SIGKILL to the server and every process it started (PostgreSQL's
   * backends included), all frozen first so that none of them answers a
   * client after another died, as a crash of the machine's process would.
   */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    // PostgreSQL's children each lead a process group of their own
    // (setsid), so a signal to the postmaster's group misses them.
    const pids = processTree(child.pid!);
    for (const pid of pids) signal(pid, 'SIGSTOP');
    for (const pid of pids) signal(pid, 'SIGKILL');
    await this.#exited;
    await gone(pids);
  }

  /** Stops the server if it runs and removes its directory. */
  async destroy(): Promise<void> {
    await this.kill();
    this.#log?.end();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Whether the server answers a query now. */
  abstract probe(): Promise<boolean>;

  /** The last lines of the server's log, for error messages. */
  logTail(lines = 15): string {
    try {
      return fs.readFileSync(this.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  protected abstract initDataDirectory(): void;
  protected abstract command(): { command: string; args: string[]; user: string };
  protected abstract createDatabase(): Promise<void>;
  protected abstract stopSignal(mode: StopMode): NodeJS.Signals;
  protected async beforeStop(_mode: StopMode): Promise<void> {}

  protected owner(user: string): { uid: number; gid: number } | undefined {
    return runAs(user);
  }

}

class PostgresServer extends PrivateServer {
  readonly dialect = 'postgres' as const;

  constructor(port: number, dir: string) {
    super(port, dir);
  }

  get url(): string {
    return `postgres://root@127.0.0.1:${this.port}/${DATABASE}`;
  }

  protected initDataDirectory(): void {
    const owner = this.owner('postgres');
    chownDir(this.dir, owner);
    const data = path.join(this.dir, 'data');
    if (fs.existsSync(data)) return;
    execFileSync(path.join(postgresBin()!, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'root', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...(owner ?? {}),
    });
  }

  protected command(): { command: string; args: string[]; user: string } {
    const args = ['-D', path.join(this.dir, 'data'), '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1'];
    // Durability off: crash recovery still replays the WAL the OS has (a
    // killed server is not a power cut), and the machine is shared.
    for (const setting of ['fsync=off', 'synchronous_commit=on', 'full_page_writes=off', 'shared_buffers=16MB', 'max_connections=60', 'log_min_messages=warning']) {
      args.push('-c', setting);
    }
    return { command: path.join(postgresBin()!, 'postgres'), args, user: 'postgres' };
  }

  async probe(): Promise<boolean> {
    const { Client } = require('pg') as { Client: new (config: object) => PgClient };
    const client = new Client({ host: '127.0.0.1', port: this.port, user: 'root', database: 'postgres', connectionTimeoutMillis: 2000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  protected async createDatabase(): Promise<void> {
    const admin = knexFactory({ client: 'pg', connection: `postgres://root@127.0.0.1:${this.port}/postgres`, pool: { min: 0, max: 1 } });
    try {
      const found = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [DATABASE]);
      if (found.rows.length === 0) await admin.raw(`CREATE DATABASE ${DATABASE}`);
    } finally {
      await admin.destroy();
    }
  }

  // SIGINT: fast shutdown (sessions get 57P01, then the server checkpoints).
  // SIGQUIT: immediate shutdown (no checkpoint; the next start recovers).
  protected stopSignal(mode: StopMode): NodeJS.Signals {
    return mode === 'clean' ? 'SIGINT' : 'SIGQUIT';
  }
}

class MariadbServer extends PrivateServer {
  readonly dialect = 'mysql' as const;

  constructor(port: number, dir: string) {
    super(port, dir);
  }

  get url(): string {
    return `mysql://root@127.0.0.1:${this.port}/${DATABASE}`;
  }

  private get socket(): string {
    return path.join(this.dir, 'mysqld.sock');
  }

  protected initDataDirectory(): void {
    const owner = this.owner('mysql');
    chownDir(this.dir, owner);
    const data = path.join(this.dir, 'data');
    if (fs.existsSync(data)) return;
    const args = ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal', '--skip-test-db'];
    if (owner !== undefined) args.push('--user=mysql');
    execFileSync(which(['mariadb-install-db', 'mysql_install_db'])!, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }

  protected command(): { command: string; args: string[]; user: string } {
    const args = [
      '--no-defaults',
      `--datadir=${path.join(this.dir, 'data')}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${this.socket}`,
      `--pid-file=${path.join(this.dir, 'mysqld.pid')}`,
      '--skip-log-bin',
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=32M',
      '--innodb-log-file-size=16M',
      // Durability as a killed process needs it: the log is written to the OS at each commit.
      '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=100',
    ];
    return { command: which(['mariadbd', 'mysqld'])!, args, user: 'mysql' };
  }

  private admin(database?: string) {
    return knexFactory({
      client: 'mysql2',
      connection: { host: '127.0.0.1', port: this.port, user: 'root', ...(database ? { database } : {}), connectTimeout: 2000 },
      pool: { min: 0, max: 1 },
      log: { warn: () => undefined, error: () => undefined },
    });
  }

  async probe(): Promise<boolean> {
    const mysql = require('mysql2') as typeof import('mysql2');
    return new Promise((resolve) => {
      const c = mysql.createConnection({ host: '127.0.0.1', port: this.port, user: 'root', connectTimeout: 2000 });
      c.on('error', () => undefined);
      c.query('SELECT 1', (err) => {
        c.destroy();
        resolve(!err);
      });
    });
  }

  protected async createDatabase(): Promise<void> {
    const admin = this.admin();
    try {
      await admin.raw(`CREATE DATABASE IF NOT EXISTS ${DATABASE} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
    } finally {
      await admin.destroy();
    }
  }

  // An immediate shutdown skips InnoDB's flush (innodb_fast_shutdown = 2):
  // the next start runs crash recovery, as after a power-off of the process.
  protected override async beforeStop(mode: StopMode): Promise<void> {
    if (mode !== 'immediate') return;
    const admin = this.admin();
    try {
      await admin.raw('SET GLOBAL innodb_fast_shutdown = 2');
    } catch {
      // The server may be too far gone to answer: the shutdown is then as immediate as it gets.
    } finally {
      await admin.destroy();
    }
  }

  protected stopSignal(_mode: StopMode): NodeJS.Signals {
    return 'SIGTERM';
  }
}
