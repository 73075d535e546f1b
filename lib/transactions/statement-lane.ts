const ignore = (): void => undefined;

/**
 * Runs the library's statements on one transaction's connection one at a
 * time, in the order they were issued. A connection runs one statement at a
 * time anyway, but the drivers queue in ways that break a transaction's
 * boundaries: node-sqlite3 holds a call on a statement that is still being
 * prepared while a later ROLLBACK goes straight through, so the call ran
 * after it, in autocommit; node-postgres queues concurrent `query()` calls
 * on one client, a habit pg 9 turns into an error. With one lane per
 * connection, every statement finishes before the next starts, and the end
 * of the transaction is queued behind them (see `TransactionFrame.run`).
 */
export class StatementLane {
  #tail: Promise<unknown> = Promise.resolve();

  /** Runs `task` after every task queued before it has settled. */
  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.then(ignore, ignore);
    return result;
  }
}
