/**
 * One-off queries to a server while it starts, with short timeouts and no
 * pool, so that a server that is not up yet is a `false`, not a hang.
 */

// The part of node-postgres' Client used here (pg ships no types).
interface PgClient {
  on(event: 'error', listener: () => void): void;
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}

/** Rows of `sql` on the MariaDB server at `port`, as root; rejects when it does not answer. */
export function mysqlRows(port: number, sql: string): Promise<Record<string, unknown>[]> {
  const mysql = require('mysql2') as typeof import('mysql2');
  return new Promise((resolve, reject) => {
    const c = mysql.createConnection({ host: '127.0.0.1', port, user: 'root', connectTimeout: 2000, multipleStatements: true });
    c.on('error', () => undefined);
    c.query(sql, (err, rows) => {
      c.destroy();
      if (err) reject(err);
      else resolve(rows as Record<string, unknown>[]);
    });
  });
}

/** Rows of `sql` on the PostgreSQL server at `port`, as root, in `database`; rejects when it does not answer. */
export async function pgRows(port: number, sql: string, database = 'postgres'): Promise<Record<string, unknown>[]> {
  const { Client } = require('pg') as { Client: new (config: object) => PgClient };
  const client = new Client({ host: '127.0.0.1', port, user: 'root', database, connectionTimeoutMillis: 2000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Polls `ready` until it resolves `true`; throws `failure()`'s text when
 * `timeoutMs` passes or `stillRunning` turns false.
 */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  options: { timeoutMs: number; stillRunning?: () => boolean; failure?: () => string },
): Promise<void> {
  const until = Date.now() + options.timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return;
    const dead = options.stillRunning !== undefined && !options.stillRunning();
    if (dead || Date.now() > until) {
      throw new Error(`${what} ${dead ? 'exited' : `was not ready after ${options.timeoutMs / 1000} s`}${options.failure ? `:\n${options.failure()}` : ''}`);
    }
    await sleep(100);
  }
}
