import { MAX_PREPARED_PER_CONNECTION } from '../dialect-adapter-base';

/** The part of a node-sqlite3 `Statement` the cache uses. */
interface SqliteStatement {
  run(params: readonly unknown[], cb: (this: RunContext, err: Error | null) => void): unknown;
  all(params: readonly unknown[], cb: (err: Error | null, rows: unknown[]) => void): unknown;
  finalize(cb?: () => void): unknown;
}

interface RunContext {
  readonly changes: number;
  readonly lastID: number;
}

/** The part of a node-sqlite3 `Database` (one connection) the cache uses. */
export interface SqliteConnection {
  prepare(sql: string, cb: (err: Error | null) => void): SqliteStatement;
}

/** Where a call leaves its answer: `all`'s rows, and `run`'s changes and last row id. */
export interface SqliteAnswer {
  response?: unknown;
  context?: unknown;
}

interface Entry {
  readonly stmt: SqliteStatement;
  /** Pending until the statement is prepared; `undefined` after. */
  ready: Promise<void> | undefined;
}


/**
 * Compiled statements per SQLite connection, so the library's hot
 * statements are parsed once per connection instead of once per call
 * (`Database#run` prepares, steps and finalizes every time).
 *
 * node-sqlite3 queues the calls made on one statement and binds each call's
 * parameters when it runs, so concurrent callers on one connection may share
 * a statement. Two of its habits shape this class: when preparing fails it
 * silently drops the calls queued on the statement (so no call is queued
 * before the statement is ready), and `sqlite3_close` refuses a connection
 * that still has statements (so they are finalized first, `finalizeAll`).
 */
export class SqliteStatementCache {
  readonly #byConnection = new WeakMap<SqliteConnection, Map<string, Entry>>();

  /**
   * Runs `sql` with `params` as `run` (writes) or `all` (rows) on a kept
   * statement, and resolves with `into` holding the answer: `all`'s rows in
   * `response`, `run`'s changes and last row id in `context`; a failure
   * rejects with the driver's error as `failed` maps it.
   */
  call<T extends SqliteAnswer>(connection: SqliteConnection, sql: string, how: 'run' | 'all', params: readonly unknown[], into: T, failed: (err: unknown) => unknown): Promise<T> {
    const entry = this.#entry(connection, sql);
    // Not an async function: a save waits on this, and every promise costs (see scope.ts).
    if (entry.ready !== undefined) return entry.ready.then(() => this.#step(connection, sql, entry, how, params, into, failed), (err: unknown) => Promise.reject(failed(err)));
    return this.#step(connection, sql, entry, how, params, into, failed);
  }

  #step<T extends SqliteAnswer>(connection: SqliteConnection, sql: string, entry: Entry, how: 'run' | 'all', params: readonly unknown[], into: T, failed: (err: unknown) => unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      const fail = (err: Error): void => {
        // Prepare afresh next time: cheap, and a statement may not recover.
        this.#forget(connection, sql, entry);
        reject(failed(err));
      };
      try {
        if (how === 'all') {
          entry.stmt.all(params, (err, rows) => {
            if (err !== null) return fail(err);
            into.response = rows;
            into.context = undefined;
            resolve(into);
          });
        } else {
          // Copied now: the statement object is shared and the next call overwrites them.
          entry.stmt.run(params, function (err) {
            if (err !== null) return fail(err);
            into.response = undefined;
            into.context = { changes: this.changes, lastID: this.lastID };
            resolve(into);
          });
        }
      } catch (err) {
        // The driver refused the call itself (a binding of a type it cannot take) before running anything.
        reject(failed(err));
      }
    });
  }

  /** Finalizes every statement of `connection`; call before closing it. */
  async finalizeAll(connection: SqliteConnection): Promise<void> {
    const entries = this.#byConnection.get(connection);
    if (entries === undefined) return;
    this.#byConnection.delete(connection);
    await Promise.all(
      [...entries.values()].map(async (e) => {
        if (e.ready !== undefined && !(await e.ready.then(() => true, () => false))) return;
        await new Promise<void>((resolve) => e.stmt.finalize(() => resolve()));
      }),
    );
  }

  /** Finalizes now every statement of `connection` that is ready (none is running: the pool is destroying it). */
  finalizeNow(connection: SqliteConnection): void {
    const entries = this.#byConnection.get(connection);
    if (entries === undefined) return;
    this.#byConnection.delete(connection);
    for (const e of entries.values()) if (e.ready === undefined) e.stmt.finalize();
  }

  #entry(connection: SqliteConnection, sql: string): Entry {
    let entries = this.#byConnection.get(connection);
    if (entries === undefined) this.#byConnection.set(connection, (entries = new Map()));
    let entry = entries.get(sql);
    if (entry !== undefined) return entry;
    if (entries.size >= MAX_PREPARED_PER_CONNECTION) {
      // Oldest first; finalize waits for the calls already queued on it.
      const [oldSql, old] = entries.entries().next().value!;
      this.#forget(connection, oldSql, old);
    }
    let settle!: (err: Error | null) => void;
    const ready = new Promise<void>((resolve, reject) => {
      settle = (err) => (err ? reject(err) : resolve());
    });
    const created: Entry = { stmt: connection.prepare(sql, (err) => settle(err)), ready };
    entries.set(sql, created);
    ready.then(
      () => {
        created.ready = undefined;
      },
      // The driver finalized it already.
      () => this.#forget(connection, sql, created, false),
    );
    return created;
  }

  #forget(connection: SqliteConnection, sql: string, entry: Entry, finalize = true): void {
    const entries = this.#byConnection.get(connection);
    if (entries?.get(sql) !== entry) return;
    entries.delete(sql);
    if (finalize) entry.stmt.finalize();
  }
}
