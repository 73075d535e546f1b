import type { Knex } from 'knex';
import { DialectAdapter, DialectName } from './dialects/dialect-adapter';
import { ConcurrencyMonitor, noteErrorDatabase, type ConcurrencyEventName, type ConcurrencyEvents, type ConcurrencyStats } from './concurrency-monitor';
import { ConnectionLease } from './connection-lease';
import { ConnectionLostError, DatabaseClosedError, KnexConcurrencyError, RetryableError, UsageError } from './errors';
import { readsFromPrimary, withPrimaryReads } from './topology/primary-scope';
import type { Router } from './topology/router';
import type { IsolationLevel } from './transactions/isolation';
import { discardConnection, runTransaction, type TransactionOptions } from './transactions/run-transaction';
import { currentScope } from './transactions/scope';
import { autocommitSession, openSession, type Session } from './transactions/session';
import { findFrame } from './transactions/transaction-frame';
import { FailureContext, translateError } from './translate-error';

export type { TransactionOptions } from './transactions/run-transaction';

/**
 * A connected database: the Knex instance, its dialect, and transactions
 * that every model call inside them joins.
 *
 * @example
 * ```ts
 * const db = connect('sqlite:./app.db');
 * await db.transaction(async () => {
 *   const p = await Product.get(1);   // runs in the transaction
 *   p.name = 'Desk lamp';
 *   await p.save();                   // so does this
 * });
 * await db.close();
 * ```
 */
export class Database {
  /** The Knex instance; use it for anything the models do not cover. */
  readonly knex: Knex;
  readonly dialect: DialectName;
  /** @internal Dialect knowledge for the library's own statements. */
  readonly adapter: DialectAdapter;
  readonly #ownsKnex: boolean;
  readonly #router: Router;
  /** @internal Whether a model's first statement here is preceded by a check of its table (see `schemaAtFirstUse`). */
  readonly checksSchema: boolean;
  readonly #checkedConnections = new WeakSet<object>();
  /** Statements outside transactions that need the primary (writes, reads of the latest row). */
  readonly #autocommit: Session;
  /** Plain reads outside transactions: a replica's when there are replicas. */
  readonly #readAutocommit: Session;
  #closed = false;
  /** @internal Contention counters and listeners (see `on()` and `stats()`). */
  readonly monitor = new ConcurrencyMonitor();

  /** @internal The isolation level of the transactions it opens (`connect()`'s `isolation`); `undefined`: the database's default. */
  readonly isolation: IsolationLevel | undefined;

  /** @internal Use `connect()`. */
  constructor(router: Router, adapter: DialectAdapter, ownsKnex: boolean, checksSchema = true, isolation?: IsolationLevel) {
    this.isolation = isolation;
    this.#router = router;
    this.knex = router.writer ?? router.reader;
    this.checksSchema = checksSchema;
    this.adapter = adapter;
    this.dialect = adapter.name;
    this.#ownsKnex = ownsKnex;
    this.#autocommit = autocommitSession(this.knex);
    this.#readAutocommit = router.reader === this.knex ? this.#autocommit : autocommitSession(router.reader);
  }

  /**
   * Runs `fn` with every read of this database sent to the primary, so it
   * sees the writes committed before it (read-your-writes): with replicas,
   * reads outside transactions otherwise go to a replica, which may not
   * have replayed them yet. Without replicas it changes nothing. Writes,
   * reads inside transactions, `refresh()` and `isChanged()` always go to
   * the primary, in or out of this scope.
   *
   * @example
   * ```ts
   * const db = connect({ primary: process.env.PRIMARY_URL!, replicas: [process.env.REPLICA_URL!] });
   * await product.save();
   * const fresh = await db.primary(() => Product.get(product.id)); // sees the save
   * ```
   */
  primary<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.#router.writer === undefined) return Promise.reject(this.#readOnly('db.primary()'));
    return withPrimaryReads(this, async () => fn());
  }

  /**
   * Runs `fn` in a transaction: every model call made inside it, however
   * deep, joins the transaction without passing `trx` around. Commits when
   * `fn` resolves, rolls back when it throws; a call inside another
   * transaction of the same database opens a savepoint. On rollback, every
   * instance saved, created or deleted inside returns to the state it had
   * before, so its next save checks the right version. That includes a
   * rollback `fn` asks for itself with `trx.rollback()`, after which
   * `transaction()` resolves `undefined`, as Knex's does.
   *
   * The transaction's bounds hold for every model call:
   * - COMMIT or ROLLBACK comes only after every model call started while
   *   `fn` ran has finished (an unawaited save, the siblings of a rejected
   *   `Promise.all`), and after every savepoint opened in it has settled.
   * - A model call made after `fn` settled (from a timer, an event handler,
   *   an unawaited promise) is refused with `TransactionClosedError` before
   *   any SQL.
   * - The library's statements run one at a time on the transaction's
   *   connection, so `Promise.all` of saves works on every database.
   * - While a savepoint is open, calls of the enclosing transaction wait for
   *   it to settle before their statements run: inside it, a rollback of the
   *   savepoint would undo a write already acknowledged to its caller.
   *
   * A statement that fails with `RetryableError` (deadlock, serialization
   * failure, lock timeout, SQLite busy), `StatementTimeoutError` or
   * `ConnectionLostError`, yours on `trx` included, ends the whole
   * transaction: it is rolled back at once, savepoints and all, and
   * `transaction()` rejects with that error even if `fn` caught it. So does
   * any failed statement that made the database end the transaction
   * (PostgreSQL does at every error, unless a savepoint around it is rolled
   * back): its COMMIT would only roll back. A failed COMMIT is never
   * reported as success.
   *
   * `fn` receives the Knex transaction for queries of your own. They run
   * one at a time with the library's statements, and once a failure has
   * ended the transaction they are refused with it, never run on their own
   * (MariaDB, having rolled the transaction back at a deadlock or a Galera
   * certification failure, would autocommit them).
   *
   * `options.isolation` (`'serializable'`, `'repeatable read'`, `'read
   * committed'`) sets this transaction's level, instead of `connect()`'s
   * `isolation`; Knex's own options (`isolationLevel`, `readOnly`) pass
   * through. A conflict at that level (PostgreSQL's 40001 at an UPDATE or at
   * COMMIT) is a `RetryableError`, the whole transaction rolled back.
   *
   * @example
   * ```ts
   * await retryOnConflict(() =>
   *   db.transaction(async () => {
   *     const [a, b] = await Promise.all([Account.get(1), Account.get(2)]);
   *     a.balance -= 10;
   *     b.balance += 10;
   *     await Promise.all([a.save(), b.save()]);
   *   }, { isolation: 'serializable' }),
   * );
   * ```
   */
  transaction<T>(fn: (trx: Knex.Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    if (this.#closed && findFrame(currentScope()?.frame, this) === undefined) return Promise.reject(new DatabaseClosedError('db.transaction()'));
    if (this.#router.writer === undefined) return Promise.reject(this.#readOnly('db.transaction()'));
    return runTransaction(this, fn, options);
  }

  /**
   * Listens for contention on this database: `'conflict'` (a save or delete
   * refused because someone changed the row: model, pk, versions,
   * conflicting fields), `'deleted'` (refused because the row is gone) and
   * `'retry'` (`retryOnConflict()` runs its function again). Listeners run
   * synchronously and must not throw (one that does is reported as a process
   * warning, never as the write's error).
   *
   * @example
   * ```ts
   * db.on('conflict', (e) => metrics.increment('db.conflict', { model: e.model }));
   * db.on('retry', (e) => log.info(`retry ${e.attempt} of ${e.model ?? 'a transaction'}`));
   * ```
   */
  on<E extends ConcurrencyEventName>(event: E, listener: (event: ConcurrencyEvents[E]) => void): this {
    this.monitor.on(event, listener);
    return this;
  }

  /** Removes a listener added with `on()`. */
  off<E extends ConcurrencyEventName>(event: E, listener: (event: ConcurrencyEvents[E]) => void): this {
    this.monitor.off(event, listener);
    return this;
  }

  /**
   * Counts since `connect()` (or `resetStats()`): saves, conflicts,
   * deletions met and retries, in total and per model, so contention can be
   * graphed.
   *
   * @example
   * ```ts
   * const { conflicts, byModel } = db.stats();
   * console.log(conflicts, byModel.Product?.conflicts);
   * ```
   */
  stats(): ConcurrencyStats {
    return this.monitor.stats();
  }

  /** Sets the counts of `stats()` back to zero. */
  resetStats(): void {
    this.monitor.reset();
  }

  /**
   * @internal Admits one model call (`what` names it in errors): in the
   * transaction open here, or on the pool. Refused before any SQL when the
   * transaction is over or the database closed. End the session when done.
   */
  session(what: string): Session {
    if (this.#router.writer === undefined) throw this.#readOnly(what);
    return this.#open(this.#autocommit, what);
  }

  /**
   * @internal Like `session()`, for a plain read that may be served by a
   * replica: outside transactions and outside `primary()`, it is.
   */
  readSession(what: string): Session {
    return this.#open(readsFromPrimary(this) ? this.#autocommit : this.#readAutocommit, what);
  }

  #open(autocommit: Session, what: string): Session {
    const session = openSession(this, autocommit, what);
    // A transaction that began before close() holds its connection: it may finish.
    if (this.#closed && session.frame === undefined) throw new DatabaseClosedError(what);
    return session;
  }

  #readOnly(what: string): UsageError {
    return new UsageError(
      `${what} needs the primary, and this database was connected with replicas only, which serve plain reads (get(), query()). ` +
        'Nothing was sent. Connect with { primary, replicas } to write, refresh(), isChanged() or open transactions.',
    );
  }

  /**
   * @internal The error to throw for a driver error met at `context`: the
   * typed error the adapter's classification calls for, and `connection`
   * discarded when it died.
   */
  failure(err: unknown, context: FailureContext, connection?: object): unknown {
    const typed = translateError(this.adapter, err, context);
    if (typed instanceof ConnectionLostError && connection !== undefined) discardConnection(connection, typed);
    if (typed instanceof RetryableError) noteErrorDatabase(typed, this);
    if (typed instanceof KnexConcurrencyError) return typed;
    if (context.inTransaction) {
      // Once a failure ended the transaction, Knex refuses its statements with
      // a plain Error: report the failure that ended it instead.
      const ended = findFrame(currentScope()?.frame, this)?.failure;
      if (ended !== undefined) return ended;
    }
    return typed;
  }

  /** @internal Checks a driver connection once, the first time the library uses it. */
  checkConnection(connection: object): void {
    if (this.#checkedConnections.has(connection)) return;
    this.adapter.checkConnection(connection);
    this.#checkedConnections.add(connection);
  }

  /**
   * Closes the connection pool. Statements already running finish, and so do
   * transactions already begun (calls inside them still run); other model
   * calls made after `close()`, or still waiting for a connection, reject
   * with `DatabaseClosedError`, having written nothing. A Knex instance you passed to `connect()` stays
   * yours: it is left open, but this `Database` refuses further calls.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const knex of this.#router.members) ConnectionLease.releaseHeld(knex.client);
    if (this.#ownsKnex) await Promise.all(this.#router.members.map((knex) => knex.destroy()));
  }
}
