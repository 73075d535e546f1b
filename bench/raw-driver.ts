import type { Knex } from 'knex';
import type { DialectName } from '../lib';

type Row = Record<string, unknown>;

/**
 * The bench's lower bound: the bare driver with prepared statements, on
 * connections borrowed from the same Knex pool (so the connection settings
 * are identical), bypassing Knex entirely. SQL uses `?` placeholders.
 */
export interface RawConnection {
  /** An UPDATE or DELETE; resolves to the rows it matched. */
  write(sql: string, params: readonly unknown[]): Promise<number>;
  /** An INSERT into a table with an `id` key; resolves to the new id. */
  insert(sql: string, params: readonly unknown[]): Promise<number>;
  /** A SELECT. */
  rows(sql: string, params: readonly unknown[]): Promise<Row[]>;
  /** A statement without parameters, not prepared (BEGIN, COMMIT). */
  exec(sql: string): Promise<void>;
}

interface PgClient {
  query(config: { name: string; text: string; values: readonly unknown[] } | string): Promise<{ rowCount: number | null; rows: Row[] }>;
}

interface MysqlConnection {
  query(sql: string, cb: (err: Error | null) => void): void;
  execute(sql: string, values: readonly unknown[], cb: (err: Error | null, result: unknown) => void): void;
}

interface SqliteStatement {
  run(params: readonly unknown[], cb: (this: { changes: number; lastID: number }, err: Error | null) => void): void;
  all(params: readonly unknown[], cb: (err: Error | null, rows: Row[]) => void): void;
  finalize(cb?: () => void): void;
}

interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string, cb: (err: Error | null) => void): void;
}

interface PoolClient {
  acquireConnection(): Promise<object>;
  releaseConnection(connection: object): Promise<unknown>;
  pool: { max: number };
}

// One statement name per SQL text, as an application would hard-code them.
const pgStatements = new Map<string, { name: string; text: string }>();

function pgConnection(client: PgClient): RawConnection {
  const run = (sql: string, params: readonly unknown[]) => {
    let stmt = pgStatements.get(sql);
    if (stmt === undefined) {
      let n = 0;
      stmt = { name: `bench_${pgStatements.size + 1}`, text: sql.replace(/\?/g, () => `$${++n}`) };
      pgStatements.set(sql, stmt);
    }
    return client.query({ name: stmt.name, text: stmt.text, values: params });
  };
  return {
    write: async (sql, params) => (await run(sql, params)).rowCount ?? 0,
    insert: async (sql, params) => Number((await run(`${sql} RETURNING id`, params)).rows[0]!.id),
    rows: async (sql, params) => (await run(sql, params)).rows,
    exec: async (sql) => void (await client.query(sql)),
  };
}

function mysqlConnection(conn: MysqlConnection): RawConnection {
  const run = (sql: string, params: readonly unknown[]) =>
    new Promise<unknown>((resolve, reject) => conn.execute(sql, params, (err, result) => (err ? reject(err) : resolve(result))));
  return {
    write: async (sql, params) => ((await run(sql, params)) as { affectedRows: number }).affectedRows,
    insert: async (sql, params) => ((await run(sql, params)) as { insertId: number }).insertId,
    rows: async (sql, params) => (await run(sql, params)) as Row[],
    exec: (sql) => new Promise((resolve, reject) => conn.query(sql, (err) => (err ? reject(err) : resolve()))),
  };
}

function sqliteConnection(db: SqliteDatabase, statements: Map<string, SqliteStatement>): RawConnection {
  const prepared = (sql: string) => {
    let stmt = statements.get(sql);
    if (stmt === undefined) statements.set(sql, (stmt = db.prepare(sql)));
    return stmt;
  };
  const run = (sql: string, params: readonly unknown[]) =>
    new Promise<{ changes: number; lastID: number }>((resolve, reject) =>
      prepared(sql).run(params, function (err) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastID: this.lastID });
      }),
    );
  return {
    write: async (sql, params) => (await run(sql, params)).changes,
    insert: async (sql, params) => (await run(sql, params)).lastID,
    rows: (sql, params) => new Promise((resolve, reject) => prepared(sql).all(params, (err, rows) => (err ? reject(err) : resolve(rows)))),
    exec: (sql) => new Promise((resolve, reject) => db.exec(sql, (err) => (err ? reject(err) : resolve()))),
  };
}

/** Borrows driver connections from a Knex pool and runs prepared statements on them. */
export class RawDriver {
  readonly #client: PoolClient;
  readonly #dialect: DialectName;
  // SQLite statements per connection, finalized before the pool closes the connection.
  readonly #sqlite = new Map<object, Map<string, SqliteStatement>>();

  constructor(knex: Knex, dialect: DialectName) {
    this.#client = knex.client as unknown as PoolClient;
    this.#dialect = dialect;
  }

  /** Runs `fn` with up to `n` distinct connections (fewer when the pool is smaller), then returns them. */
  async with<T>(n: number, fn: (connections: RawConnection[]) => Promise<T>): Promise<T> {
    const count = Math.max(1, Math.min(n, this.#client.pool.max));
    const borrowed: object[] = [];
    try {
      for (let i = 0; i < count; i++) borrowed.push(await this.#client.acquireConnection());
      return await fn(borrowed.map((c) => this.#wrap(c)));
    } finally {
      for (const c of borrowed) await this.#client.releaseConnection(c);
    }
  }

  /** Finalizes cached SQLite statements: `sqlite3_close` refuses a connection that still has some. */
  async close(): Promise<void> {
    const all = [...this.#sqlite.values()].flatMap((m) => [...m.values()]);
    this.#sqlite.clear();
    await Promise.all(all.map((s) => new Promise<void>((resolve) => s.finalize(() => resolve()))));
  }

  #wrap(connection: object): RawConnection {
    switch (this.#dialect) {
      case 'postgres':
        return pgConnection(connection as PgClient);
      case 'mysql':
        return mysqlConnection(connection as MysqlConnection);
      case 'sqlite': {
        let statements = this.#sqlite.get(connection);
        if (statements === undefined) this.#sqlite.set(connection, (statements = new Map()));
        return sqliteConnection(connection as SqliteDatabase, statements);
      }
    }
  }
}
