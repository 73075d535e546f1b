import type { Knex } from 'knex';
import { currentScope } from './scope';
import { findFrame, type TransactionFrame } from './transaction-frame';

/**
 * Where one model call (a save, a load, a query...) runs its statements:
 * the pool, or the transaction open when the call started. A call inside a
 * transaction is admitted by it and must `end()` the session when it is
 * done, so the transaction can end after it (see `TransactionFrame`).
 */
export interface Session {
  /** The Knex instance or transaction to run on. */
  readonly runner: Knex | Knex.Transaction;
  /** The transaction, or `undefined` in autocommit. */
  readonly frame: TransactionFrame | undefined;
  /** Runs one statement of this call (in a transaction: in turn, see `TransactionFrame.run`). */
  run<T>(statement: () => Promise<T>): Promise<T>;
  end(): void;
}

/** A call outside any transaction: the pool, nothing to end. */
export function autocommitSession(knex: Knex): Session {
  return Object.freeze({ runner: knex, frame: undefined, run: <T>(statement: () => Promise<T>): Promise<T> => statement(), end: (): void => undefined });
}

class TransactionSession implements Session {
  #ended = false;
  /** Whether this call has run a statement (see `TransactionFrame.run`). */
  started = false;

  constructor(readonly frame: TransactionFrame) {}

  get runner(): Knex.Transaction {
    return this.frame.trx;
  }

  run<T>(statement: () => Promise<T>): Promise<T> {
    return this.frame.run(this, statement);
  }

  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.frame.leave(this.started);
  }
}

/**
 * The session for a call of `db` made here: in the innermost transaction of
 * `db` in the current scope (admitted by it, or refused with
 * `TransactionClosedError` when it is over), else `autocommit`.
 */
export function openSession(db: object, autocommit: Session, what: string): Session {
  const frame = findFrame(currentScope()?.frame, db);
  if (frame === undefined) return autocommit;
  frame.admit(what);
  return new TransactionSession(frame);
}
