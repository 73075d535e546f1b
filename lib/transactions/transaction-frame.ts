import type { Knex } from 'knex';
import { TransactionClosedError } from '../errors';
import { StatementLane } from './statement-lane';
import { UndoLog, type UndoEntry, type UndoKind } from './undo-log';

export type { UndoEntry, UndoKind } from './undo-log';

type Waiter = () => void;

/**
 * One open transaction (or savepoint) of one database: its Knex
 * transaction, the undo log of the instances written or loaded in it, and
 * the bookkeeping that keeps every library statement inside its bounds.
 *
 * - Each model call is admitted (`admit`) while the transaction's function
 *   runs, and refused with `TransactionClosedError` once it has settled.
 * - The transaction ends (COMMIT, ROLLBACK, RELEASE) only after every
 *   admitted call has finished and every savepoint opened in it has settled
 *   (`drain`), so no statement of it runs after its end, or inside the next
 *   transaction on the same connection.
 * - Statements run one at a time on the connection's lane, and a
 *   statement of a transaction with an open savepoint waits for the savepoint
 *   to settle: run inside it, a rollback of the savepoint would undo a write
 *   already acknowledged to its caller.
 */
export class TransactionFrame {
  readonly undo = new UndoLog();
  /** Shared by a transaction and its savepoints: they use one connection. */
  readonly lane: StatementLane;
  #open = true;
  #active = 0;
  #running = 0;
  #children = 0;
  #waiters: Waiter[] = [];
  #failure: Error | undefined;
  #statementError: object | undefined;

  constructor(
    readonly db: object,
    readonly trx: Knex.Transaction,
    /** The enclosing frame, of any database. */
    readonly parent: TransactionFrame | undefined,
    /** The isolation level the transaction runs at; `undefined` for the database's default. */
    readonly isolation: string | undefined,
  ) {
    this.lane = findFrame(parent, db)?.lane ?? new StatementLane();
  }

  /** The enclosing frame of the same database (the transaction a savepoint belongs to). */
  get outer(): TransactionFrame | undefined {
    return findFrame(this.parent, this.db);
  }

  /** The outermost open frame of the same database: the real transaction, which savepoints share. */
  root(): TransactionFrame {
    let root: TransactionFrame = this;
    for (let f = root.outer; f !== undefined; f = f.outer) root = f;
    return root;
  }

  /** Whether model calls are still admitted. */
  get isOpen(): boolean {
    return this.#open;
  }

  /**
   * Admits one model call (`what`, for the error message) to run in this
   * transaction; pair with `leave()`. Throws, before any SQL, when the
   * transaction is over or closing, or a failure has ended it.
   */
  admit(what: string): void {
    const failure = this.failure;
    if (failure !== undefined) throw failure;
    if (!this.#open) throw new TransactionClosedError(what);
    this.#active++;
  }

  /** Counts one more call for a call already admitted (its own savepoint), even while draining. */
  readmit(): void {
    this.#active++;
  }

  /** An admitted call finished; `started` if it ran statements. */
  leave(started: boolean): void {
    this.#active--;
    if (started) this.#running--;
    this.#wake();
  }

  /**
   * Runs one statement of the admitted call `call`, in turn on the
   * connection's lane. A call's first statement waits for any savepoint open
   * in this frame to settle; from then on the call is running, and a new
   * savepoint waits for it to finish (see `openChild`), so every statement
   * of a call runs on the same side of a savepoint. A failure that ended the
   * transaction meanwhile is thrown instead.
   */
  async run<T>(call: { started: boolean }, statement: () => Promise<T>): Promise<T> {
    if (!call.started) {
      while (this.#children > 0) await this.#wait();
      call.started = true;
      this.#running++;
    }
    return this.lane.run(() => {
      const failure = this.failure;
      if (failure !== undefined) return Promise.reject(failure);
      // fn ended it itself (trx.commit(), trx.rollback()) while this call ran.
      if (this.trx.isCompleted()) return Promise.reject(new TransactionClosedError('A statement'));
      return statement();
    });
  }

  /**
   * A savepoint is about to open in this frame: from now on calls of this
   * frame that have not run a statement yet wait for it, and it starts only
   * after the calls already running have finished. (A call that wrote before
   * the savepoint and read after it, inside, could take a version the
   * savepoint's rollback undoes.) The library's own savepoints open before
   * their call runs anything, so they never wait for themselves.
   */
  async openChild(): Promise<void> {
    this.#children++;
    while (this.#running > 0) await this.#wait();
    await this.lane.run(() => Promise.resolve());
  }

  /** A savepoint opened in this frame has been released or rolled back. */
  closeChild(): void {
    this.#children--;
    this.#wake();
  }

  /**
   * The transaction's function has settled: refuses new calls, then waits
   * for the admitted ones and for open savepoints, so that COMMIT or
   * ROLLBACK comes after all of them.
   */
  async drain(): Promise<void> {
    this.#open = false;
    while (this.#active > 0 || this.#children > 0) await this.#wait();
  }

  /** Refuses new calls from now on (`trx.commit()` / `trx.rollback()` called by the function). */
  close(): void {
    this.#open = false;
  }

  /**
   * Records that `err` ended the whole transaction (a deadlock, a lost
   * connection...): it can only roll back now, whatever its callbacks do.
   * The first failure is the one reported.
   */
  fail(err: Error): void {
    const root = this.root();
    root.#failure ??= err;
  }

  /** The failure that ended the transaction, if one did. */
  get failure(): Error | undefined {
    return this.root().#failure;
  }

  /**
   * Records that a statement failed with `err` (the library's typed error
   * when it made one), which fn may have caught: the database may have ended
   * the transaction for it all the same.
   */
  noteStatementError(err: object): void {
    const root = this.root();
    root.#statementError ??= err;
  }

  /** The first statement error noted, if any. */
  get statementError(): object | undefined {
    return this.root().#statementError;
  }

  /** Records how to undo `instance` if this transaction rolls back. */
  remember(instance: object, entry: UndoEntry, kind: UndoKind = 'write'): void {
    this.undo.remember(instance, entry, kind);
  }

  /** The transaction committed: an enclosing transaction of the same database may still roll it back. */
  committed(): void {
    this.#open = false;
    const outer = this.outer;
    if (outer !== undefined) this.undo.handOver(outer.undo);
    else this.undo.clear();
  }

  /** The transaction rolled back (or, with `outcomeUnknown`, may have committed): undo every instance, latest first. */
  rolledBack(outcomeUnknown = false): void {
    this.#open = false;
    this.undo.undo(outcomeUnknown);
  }

  #wait(): Promise<void> {
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  #wake(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) return;
    this.#waiters = [];
    for (const w of waiters) w();
  }
}

/** The innermost frame of `db`, starting at `frame`. */
export function findFrame(frame: TransactionFrame | undefined, db: object): TransactionFrame | undefined {
  for (let f = frame; f !== undefined; f = f.parent) if (f.db === db) return f;
  return undefined;
}
