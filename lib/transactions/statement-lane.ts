import { currentScope, runWith } from './scope';

const ignore = (): void => undefined;

/**
 * Runs one transaction's statements on its connection one at a time, in
 * the order they were issued: the library's and the caller's own on `trx`.
 * A connection runs one statement at a time anyway, but the drivers queue
 * in ways that break a transaction's boundaries: node-sqlite3 holds a call
 * on a statement that is still being prepared while a later ROLLBACK goes
 * straight through, so the call ran after it, in autocommit; node-postgres
 * queues concurrent `query()` calls on one client, a habit pg 9 turns into
 * an error; mysql2 sends a queued statement right after the one before it
 * failed, and MariaDB, which rolled the transaction back at that failure (a
 * deadlock, a Galera certification failure), runs it in autocommit. With
 * one lane per connection, every statement finishes before the next starts,
 * and the end of the transaction is queued behind them (see
 * `TransactionFrame.run`).
 */
export class StatementLane {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    // The lane runs in the task's scope: a statement that a task itself
    // issues is part of that task and must not queue behind it.
    const result = this.#tail.then(() => runWith({ lane: this }, task));
    this.#tail = result.then(ignore, ignore);
    return result;
  }

  /** Whether the caller runs inside one of this lane's tasks. */
  get isCurrent(): boolean {
    return currentScope()?.lane === this;
  }
}
