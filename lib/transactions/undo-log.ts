/**
 * What to do with one instance when its transaction rolls back; told whether
 * the outcome is unknown (the connection died at COMMIT, so the transaction
 * may have committed after all).
 */
export type UndoEntry = (outcomeUnknown: boolean) => void;

/** Whether an instance was written in the transaction, or only loaded in it. */
export type UndoKind = 'write' | 'load';

/**
 * How to put back every instance written or loaded in one transaction (or
 * savepoint). When it rolls back, each instance written in it returns to
 * exactly the state it had before its first write, so its next save checks
 * the version the database really holds; one only loaded in it may hold a
 * version that was never committed, and is marked so that it must be
 * refreshed before it writes.
 */
export class UndoLog {
  readonly #entries = new Map<object, { readonly entry: UndoEntry; readonly kind: UndoKind }>();

  /**
   * Records how to undo `instance`. The first write's record counts (it
   * restores the state from before the transaction touched it); a write to
   * an instance only loaded so far first restores that, then still marks it
   * as loaded.
   */
  remember(instance: object, entry: UndoEntry, kind: UndoKind): void {
    const had = this.#entries.get(instance);
    if (had === undefined) this.#entries.set(instance, { entry, kind });
    else if (had.kind === 'load' && kind === 'write') {
      this.#entries.set(instance, {
        entry: (outcomeUnknown) => {
          entry(outcomeUnknown);
          had.entry(outcomeUnknown);
        },
        kind,
      });
    }
  }

  /** Moves every record into `outer`, which may still roll them back. */
  handOver(outer: UndoLog): void {
    for (const [instance, { entry, kind }] of this.#entries) outer.remember(instance, entry, kind);
    this.#entries.clear();
  }

  /** Forgets every record: the transaction committed for good. */
  clear(): void {
    this.#entries.clear();
  }

  /** Undoes every instance, latest first. */
  undo(outcomeUnknown: boolean): void {
    const entries = [...this.#entries.values()].reverse();
    this.#entries.clear();
    for (const { entry } of entries) entry(outcomeUnknown);
  }
}
