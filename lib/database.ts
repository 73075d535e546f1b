import type { Knex } from 'knex';
import { DialectAdapter, DialectName } from './dialects/dialect-adapter';
import { currentScope, runInScope } from './scope';
import { findFrame, TransactionFrame } from './transaction-frame';

/** What `db.transaction()` passes to Knex (isolation level, read-only...). */
export type TransactionOptions = Knex.TransactionConfig;

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
   * before, so its next save checks the right version.
   *
   * `fn` receives the Knex transaction for queries of your own.
   */
  async transaction<T>(fn: (trx: Knex.Transaction) => Promise<T> | T, options?: TransactionOptions): Promise<T> {
    const scope = currentScope();
    const outer = findFrame(scope?.frame, this);
    const starter: Knex | Knex.Transaction = outer ? outer.trx : this.knex;
    let frame: TransactionFrame | undefined;
    try {
      const result = await starter.transaction(async (trx: Knex.Transaction): Promise<T> => {
        frame = new TransactionFrame(this, trx, scope?.frame);
        return runInScope({ frame, overrides: scope?.overrides }, () => fn(trx));
      }, options);
      frame?.committed();
      return result as T;
    } catch (err) {
      frame?.rolledBack();
      throw err;
    }
  }

  /** The Knex instance or transaction that a model call made here should use. */
  runner(): Knex | Knex.Transaction {
    return findFrame(currentScope()?.frame, this)?.trx ?? this.knex;
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
}
