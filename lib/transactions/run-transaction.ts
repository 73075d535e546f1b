import type { Knex } from 'knex';
import type { Database } from '../database';
import { ConnectionLostError, FailurePhase, KnexConcurrencyError, UsageError } from '../errors';
import { reportedError } from '../translate-error';
import { checkIsolation, type IsolationLevel } from './isolation';
import { currentScope, runWith, type Scope } from './scope';
import { findFrame, TransactionFrame } from './transaction-frame';

/**
 * Options of `db.transaction()`: `isolation`, and Knex's own transaction
 * options (`isolationLevel`, `readOnly`...), which pass through to Knex.
 */
export interface TransactionOptions extends Knex.TransactionConfig {
  /**
   * The isolation level of this transaction, instead of `connect()`'s
   * `isolation` (or the database's default). Only the outermost transaction
   * can set it: a transaction inside another is a savepoint of it, at its
   * level. SQLite runs every transaction SERIALIZABLE.
   */
  readonly isolation?: IsolationLevel;
}

interface ConnectionLender {
  acquireConnection(): Promise<object>;
  releaseConnection(connection: object): Promise<unknown>;
  query(connection: object, obj: object): Promise<unknown>;
}

type Outcome = { ok: true } | { ok: false; error: unknown };

const ignore = (): void => undefined;

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
export function discardConnection(connection: object, reason: unknown): void {
  (connection as { __knex__disposed?: unknown }).__knex__disposed = reason;
}

/**
 * The transaction protocol behind `db.transaction()`, in five steps:
 *
 * 1. lease: the outermost transaction takes a connection of its own (see
 *    `lease`); a nested one is a savepoint, admitted by its parent, which
 *    holds its own statements until the savepoint settles;
 * 2. begin: Knex's BEGIN (or SAVEPOINT), then a frame for the undo log;
 * 3. run: `fn` in a scope where every model call joins the transaction;
 * 4. settle: once `fn` has settled, new calls are refused and the admitted
 *    ones finish (`TransactionFrame.drain`); only then COMMIT or ROLLBACK;
 * 5. restore: on rollback, every instance written or loaded inside goes
 *    back to its state before the transaction.
 */
export async function runTransaction<T>(
  db: Database,
  fn: (trx: Knex.Transaction) => Promise<T> | T,
  options: TransactionOptions | undefined,
  /** The library's own savepoint, for a call the enclosing transaction has admitted already. */
  admitted = false,
): Promise<T> {
  const level = checkIsolation(options?.isolation, 'db.transaction()');
  if (level !== undefined && options?.isolationLevel !== undefined && options.isolationLevel !== level) {
    throw new UsageError(`db.transaction(): isolation '${level}' and Knex's isolationLevel '${options.isolationLevel}' disagree; pass one`);
  }
  const scope = currentScope();
  const outer = findFrame(scope?.frame, db);
  if (outer === undefined) {
    const isolation = level ?? options?.isolationLevel ?? db.isolation;
    return run(db, fn, knexOptions(db, options, isolation), isolation, scope, undefined);
  }
  const isolation = outer.isolation;
  if (level !== undefined && level !== isolation) {
    throw new UsageError(
      `db.transaction({ isolation: '${level}' }) inside another transaction: it is a savepoint, which runs at its transaction's level ` +
        `(${isolation === undefined ? "the database's default" : `'${isolation}'`}); ask for '${level}' on the outermost db.transaction()`,
    );
  }
  if (admitted) outer.readmit();
  else outer.admit('db.transaction()');
  try {
    await outer.openChild();
    try {
      return await run(db, fn, options, isolation, scope, outer);
    } finally {
      outer.closeChild();
    }
  } finally {
    outer.leave(false);
  }
}

/**
 * Knex's options for a transaction at `isolation`: the level as the adapter
 * has Knex ask for it (nothing on SQLite, which gives every level).
 */
function knexOptions(db: Database, options: TransactionOptions | undefined, isolation: string | undefined): Knex.TransactionConfig | undefined {
  if (options?.isolation === undefined && (isolation === undefined || isolation === options?.isolationLevel)) return options;
  const { isolation: _mine, ...rest } = options ?? {};
  const isolationLevel = isolation === undefined ? undefined : db.adapter.transactionIsolation(isolation as IsolationLevel);
  return { ...rest, isolationLevel };
}

async function run<T>(
  db: Database,
  fn: (trx: Knex.Transaction) => Promise<T> | T,
  options: Knex.TransactionConfig | undefined,
  /** The level it runs at (a savepoint: its transaction's), `undefined` for the database's default. */
  isolation: string | undefined,
  scope: Scope | undefined,
  outer: TransactionFrame | undefined,
): Promise<T> {
  const client = db.knex.client as unknown as ConnectionLender;
  // The outermost transaction runs on a connection of our own rather than
  // one Knex hands back to the pool before we learn how COMMIT went: after
  // a failed COMMIT it may still hold an open transaction (SQLite keeps it
  // after BUSY) or be dead, and must be rolled back or discarded first.
  const lease = outer === undefined && options?.connection === undefined ? await leaseConnection(db, client) : undefined;
  let frame: TransactionFrame | undefined;
  let body: Promise<T> | undefined;
  let bodyDone = false;
  let rolledBackWithoutError = false;
  try {
    const config = lease === undefined ? options : { ...options, connection: lease };
    const transaction = (outer?.trx ?? db.knex).transaction(async (trx: Knex.Transaction): Promise<T> => {
      // Knex calls back even when BEGIN failed, having already rejected with
      // BEGIN's error: fn must not run on a transaction that never started.
      if (trx.isCompleted()) throw new Error('BEGIN failed');
      const f = (frame = new TransactionFrame(db, trx, scope?.frame, isolation));
      laneOwnQueries(db, trx, f);
      const rollback = trx.rollback;
      if (outer === undefined) watch(db, trx, f, rollback, () => bodyDone);
      // fn may end the transaction itself. Knex resolves, as if committed, a
      // transaction rolled back with no error (fn's own trx.rollback(), or fn
      // throwing undefined): its instances must be restored all the same.
      // Either way, later calls are refused and the end waits its turn.
      trx.rollback = ((error?: unknown) => {
        if (error === undefined) rolledBackWithoutError = true;
        f.close();
        return f.lane.run(() => Promise.resolve(rollback(error)));
      }) as Knex.Transaction['rollback'];
      const commit = trx.commit;
      trx.commit = ((value?: unknown) => {
        f.close();
        return f.lane.run(() => Promise.resolve(commit(value)));
      }) as Knex.Transaction['commit'];
      body = (async () => runWith({ frame: f, overrides: scope?.overrides }, () => fn(trx)))();
      let value: T;
      try {
        value = await body;
      } finally {
        // Every call admitted while fn ran finishes before COMMIT or ROLLBACK.
        await f.drain();
        bodyDone = true;
      }
      if (outer === undefined && f.failure === undefined && f.statementError !== undefined) await stillOpen(trx, f.statementError);
      return value;
    }, config);
    // Knex begins it a microtask later; until then the adapter may say how.
    if (outer === undefined) db.adapter.beginsTransaction(transaction, db.knex.client);
    const result = await transaction;
    if (rolledBackWithoutError) {
      // Knex resolved at ROLLBACK, maybe while fn still runs: let it finish,
      // then restore what it wrote, and rethrow what it threw.
      const outcome = body === undefined ? undefined : await settled(body);
      await frame?.drain();
      frame!.rolledBack();
      if (outcome !== undefined && !outcome.ok) throw outcome.error;
      return result as T;
    }
    frame!.committed();
    return result as T;
  } catch (err) {
    // A failed statement rolls the transaction back at once (see watch),
    // maybe while fn still runs: let it finish before restoring instances.
    const outcome = body === undefined ? undefined : await settled(body);
    await frame?.drain();
    const failure = failureOf(db, err, frame ?? outer, outcome, outer !== undefined);
    frame?.rolledBack(failure instanceof ConnectionLostError && failure.outcomeUnknown);
    if (lease !== undefined) {
      const lost = failure instanceof ConnectionLostError || db.adapter.classifyError(err)?.kind === 'connection-lost';
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

async function leaseConnection(db: Database, client: ConnectionLender): Promise<object> {
  try {
    return await client.acquireConnection();
  } catch (err) {
    throw db.failure(err, { phase: 'connect', inTransaction: false, write: false });
  }
}

/**
 * What `transaction()` rethrows: the failure that ended the transaction if
 * one did; else, when BEGIN or COMMIT (RELEASE for a savepoint) failed, its
 * typed error; else fn's own error (Knex may report a failed ROLLBACK in
 * its place).
 */
function failureOf(db: Database, err: unknown, frame: TransactionFrame | undefined, outcome: Outcome | undefined, savepoint: boolean): unknown {
  if (frame?.failure !== undefined) return frame.failure;
  if (outcome !== undefined && !outcome.ok) return outcome.error;
  const phase: FailurePhase = outcome === undefined ? 'begin' : savepoint ? 'statement' : 'commit';
  return db.failure(err, { phase, inTransaction: true, write: true });
}

/**
 * Before COMMIT of a transaction in which a statement failed and fn went
 * on: checks that the transaction is still usable. PostgreSQL aborts a
 * transaction at its first failed statement (only ROLLBACK TO SAVEPOINT
 * revives it) and then answers COMMIT with ROLLBACK, not with an error, so
 * Knex would report the lost work as committed. Then the statement's error
 * (the typed one the library threw for it, if it threw one) is what
 * `transaction()` rejects with, after the rollback.
 */
async function stillOpen(trx: Knex.Transaction, statementError: object): Promise<void> {
  try {
    await trx.raw('SELECT 1');
  } catch {
    throw reportedError(statementError);
  }
}

/**
 * Puts the caller's own queries on `trx` on the transaction's lane, in turn
 * with the library's statements, and refuses each, before it is sent, once
 * a failure has ended the transaction. Otherwise a query sent right behind
 * a statement that failed (`Promise.all` of a save and your insert, or two
 * of your queries) reaches the server before the library's ROLLBACK: after
 * a deadlock or a Galera certification failure, MariaDB has already rolled
 * the transaction back and would commit that query on its own, while
 * `transaction()` reports that nothing was written. Knex's own transaction
 * statements (SQL strings: BEGIN, SAVEPOINT, COMMIT...) and the library's
 * statements, already on the lane, go straight through.
 */
function laneOwnQueries(db: Database, trx: Knex.Transaction, frame: TransactionFrame): void {
  const client = trx.client as unknown as { query(connection: unknown, obj: unknown): Promise<unknown> };
  const query = client.query;
  client.query = function (this: unknown, connection: unknown, obj: unknown): Promise<unknown> {
    if (typeof obj === 'string' || frame.lane.isCurrent) return query.call(this, connection, obj);
    return frame.lane.run(() => {
      const failure = frame.failure;
      if (failure !== undefined) return Promise.reject(failure);
      // The typed error (the same one `transaction()` will reject with when it ended the transaction), not the driver's.
      return query.call(this, connection, obj).catch((err: unknown) => {
        throw db.failure(err, { phase: 'statement', inTransaction: true, write: true });
      });
    });
  };
}

/**
 * Watches every statement of a top-level transaction, its savepoints' and
 * the caller's own `trx` queries included. A failure that ends the
 * transaction marks it failed and rolls it back at once, after the statement
 * running on its connection: MariaDB keeps the transaction open after a lock
 * wait timeout (a later COMMIT would persist half of it) and, after a
 * deadlock, has already rolled it back and would autocommit whatever came
 * next. Rolling back now also frees its locks without waiting for `fn` to
 * return. COMMIT's own failure is left to `transaction()`, which knows it
 * happened at COMMIT.
 */
function watch(db: Database, trx: Knex.Transaction, frame: TransactionFrame, rollback: Knex.Transaction['rollback'], finished: () => boolean): void {
  trx.on('query-error', (err: unknown) => {
    if (finished() || frame.failure !== undefined) return;
    // Through db.failure(), like the library's own statements: the typed error
    // remembers its database (so retryOnConflict() reports its retry there).
    const typed = db.failure(err, { phase: 'statement', inTransaction: true, write: true });
    if (!(typed instanceof KnexConcurrencyError)) {
      if (typeof err === 'object' && err !== null) frame.noteStatementError(err);
      return;
    }
    frame.fail(typed);
    frame.lane.run(() => Promise.resolve(rollback(typed))).catch(ignore);
  });
}
