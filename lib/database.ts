import type { Knex } from 'knex';
import { DialectAdapter, DialectName } from './dialects/dialect-adapter';
import { ConnectionLostError, FailurePhase, KnexConcurrencyError } from './errors';
import { currentScope, runInScope } from './scope';
import { findFrame, TransactionFrame } from './transaction-frame';
import { FailureContext, translateError } from './translate-error';

/** What `db.transaction()` passes to Knex (isolation level, read-only...). */
export type TransactionOptions = Knex.TransactionConfig;

interface ConnectionLender {
  acquireConnection(): Promise<object>;
  releaseConnection(connection: object): Promise<unknown>;
  query(connection: object, obj: object): Promise<unknown>;
}

const ignore = (): void => undefined;

type Outcome = { ok: true } | { ok: false; error: unknown };

function settled(p: Promise<unknown>): Promise<Outcome> {
  return p.then(
    () => ({ ok: true }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/**
 * Makes the pool destroy `connection` instead of lending it again. Knex's
 * pool checks this mark when it validates a connection; its pg and mysql
 * clients set it themselves once the socket's `end` or `error` event
 * arrives, which can come after the connection is back in the pool.
 */
function discardConnection(connection: object, reason: unknown): void {
  (connection as { __knex__disposed?: unknown }).__knex__disposed = reason;
}

/**
 * A connected database: the Knex instance, its dialect, and transactions
 * that every model call inside them joins.
 *
 * @example
 * ```ts
 * const db = connect('sqlite:./app.db');
 * await db.transaction(async () => {
 *   const p = await Product.get(1);   // runs in the transaction
 *   p.stock -= 1;
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
  readonly #checkedConnections = new WeakSet<object>();

  /** @internal Use `connect()`. */
  constructor(knex: Knex, adapter: DialectAdapter, ownsKnex: boolean) {
    this.knex = knex;
    this.adapter = adapter;
    this.dialect = adapter.name;
    this.#ownsKnex = ownsKnex;
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
   * A statement that fails with `RetryableError` (deadlock, serialization
   * failure, lock timeout, SQLite busy) or `ConnectionLostError`, yours on
   * `trx` included, ends the whole transaction: it is rolled back at once,
   * savepoints and all, and `transaction()` rejects with that error even if
   * `fn` caught it. So does any failed statement that made the database end
   * the transaction (PostgreSQL does at every error, unless a savepoint
   * around it is rolled back): its COMMIT would only roll back. A failed
   * COMMIT is never reported as success.
   *
   * `fn` receives the Knex transaction for queries of your own.
   */
  async transaction<T>(fn: (trx: Knex.Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    const scope = currentScope();
    const outer = findFrame(scope?.frame, this);
    const client = this.knex.client as unknown as ConnectionLender;
    // The outermost transaction runs on a connection of our own rather than
    // one Knex hands back to the pool before we learn how COMMIT went: after
    // a failed COMMIT it may still hold an open transaction (SQLite keeps it
    // after BUSY) or be dead, and must be rolled back or discarded first.
    const lease = outer === undefined && options?.connection === undefined ? await client.acquireConnection() : undefined;
    let frame: TransactionFrame | undefined;
    let body: Promise<T> | undefined;
    let bodyDone = false;
    let rolledBackWithoutError = false;
    try {
      const config = lease === undefined ? options : { ...options, connection: lease };
      const result = await (outer?.trx ?? this.knex).transaction(async (trx: Knex.Transaction): Promise<T> => {
        // Knex calls back even when BEGIN failed, having already rejected with
        // BEGIN's error: fn must not run on a transaction that never started.
        if (trx.isCompleted()) throw new Error('BEGIN failed');
        const f = (frame = new TransactionFrame(this, trx, scope?.frame));
        if (outer === undefined) this.#watch(trx, f, () => bodyDone);
        // Knex resolves, as if committed, a transaction rolled back with no
        // error (fn's own trx.rollback(), or fn throwing undefined): its
        // instances must be restored all the same (see below).
        const rollback = trx.rollback;
        trx.rollback = ((error?: unknown) => {
          if (error === undefined) rolledBackWithoutError = true;
          return rollback(error);
        }) as Knex.Transaction['rollback'];
        body = (async () => runInScope({ frame: f, overrides: scope?.overrides }, () => fn(trx)))();
        let value: T;
        try {
          value = await body;
        } finally {
          bodyDone = true;
        }
        if (outer === undefined && f.failure === undefined && f.statementError !== undefined) await this.#stillOpen(trx, f.statementError);
        return value;
      }, config);
      if (rolledBackWithoutError) {
        // Knex resolved at ROLLBACK, maybe while fn still runs: let it finish,
        // then restore what it wrote, and rethrow what it threw.
        const outcome = body === undefined ? undefined : await settled(body);
        frame!.rolledBack();
        if (outcome !== undefined && !outcome.ok) throw outcome.error;
        return result as T;
      }
      frame!.committed();
      return result as T;
    } catch (err) {
      // A failed statement rolls the transaction back at once (see #watch),
      // maybe while fn still runs: let it finish before restoring instances.
      const outcome = body === undefined ? undefined : await settled(body);
      const failure = this.#failureOf(err, frame ?? outer, outcome, outer !== undefined);
      frame?.rolledBack(failure instanceof ConnectionLostError && failure.outcomeUnknown);
      if (lease !== undefined) {
        const lost = failure instanceof ConnectionLostError || this.adapter.classifyError(err)?.kind === 'connection-lost';
        if (lost) discardConnection(lease, failure);
        // SQLite keeps the transaction open after a COMMIT that returned BUSY.
        else if (outcome?.ok === true && frame?.failure === undefined) await client.query(lease, { sql: 'ROLLBACK', bindings: [] }).catch(ignore);
      }
      throw failure;
    } finally {
      if (lease !== undefined) {
        delete (lease as { __knexTxId?: unknown }).__knexTxId;
        await client.releaseConnection(lease);
      }
    }
  }

  /** The Knex instance or transaction that a model call made here should use. */
  runner(): Knex | Knex.Transaction {
    return findFrame(currentScope()?.frame, this)?.trx ?? this.knex;
  }

  /**
   * @internal The error to throw for a driver error met at `context`: the
   * typed error the adapter's classification calls for, and `connection`
   * discarded when it died.
   */
  failure(err: unknown, context: FailureContext, connection?: object): unknown {
    const typed = translateError(this.adapter, err, context);
    if (typed instanceof ConnectionLostError && connection !== undefined) discardConnection(connection, typed);
    if (typed === err && context.inTransaction) {
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
   * Closes the connection pool. A Knex instance you passed to `connect()`
   * stays yours: it is left open.
   */
  async close(): Promise<void> {
    if (this.#ownsKnex) await this.knex.destroy();
  }

  /**
   * What `transaction()` rethrows: the failure that ended the transaction if
   * one did; else, when BEGIN or COMMIT (RELEASE for a savepoint) failed, its
   * typed error; else fn's own error (Knex may report a failed ROLLBACK in
   * its place).
   */
  #failureOf(err: unknown, frame: TransactionFrame | undefined, outcome: Outcome | undefined, savepoint: boolean): unknown {
    if (frame?.failure !== undefined) return frame.failure;
    if (outcome !== undefined && !outcome.ok) return outcome.error;
    const phase: FailurePhase = outcome === undefined ? 'begin' : savepoint ? 'statement' : 'commit';
    return translateError(this.adapter, err, { phase, inTransaction: true, write: true });
  }

  /**
   * Before COMMIT of a transaction in which a statement failed and fn went
   * on: checks that the transaction is still usable. PostgreSQL aborts a
   * transaction at its first failed statement (only ROLLBACK TO SAVEPOINT
   * revives it) and then answers COMMIT with ROLLBACK, not with an error, so
   * Knex would report the lost work as committed. Then the statement's error
   * is what `transaction()` rejects with, after the rollback.
   */
  async #stillOpen(trx: Knex.Transaction, statementError: object): Promise<void> {
    try {
      await trx.raw('SELECT 1');
    } catch {
      throw statementError;
    }
  }

  /**
   * Watches every statement of a top-level transaction, its savepoints' and
   * the caller's own `trx` queries included. A failure that ends the
   * transaction marks it failed and rolls it back at once: MariaDB keeps the
   * transaction open after a lock wait timeout (a later COMMIT would persist
   * half of it) and, after a deadlock, has already rolled it back and would
   * autocommit whatever came next. Rolling back now also frees its locks
   * without waiting for `fn` to return. COMMIT's own failure is left to
   * `transaction()`, which knows it happened at COMMIT.
   */
  #watch(trx: Knex.Transaction, frame: TransactionFrame, finished: () => boolean): void {
    trx.on('query-error', (err: unknown) => {
      if (finished() || frame.failure !== undefined) return;
      const typed = translateError(this.adapter, err, { phase: 'statement', inTransaction: true, write: true });
      if (!(typed instanceof KnexConcurrencyError)) {
        if (typeof err === 'object' && err !== null) frame.noteStatementError(err);
        return;
      }
      frame.fail(typed);
      Promise.resolve(trx.rollback(typed)).catch(ignore);
    });
  }
}
