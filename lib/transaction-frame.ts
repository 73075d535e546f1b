import type { Knex } from 'knex';

/**
 * What to do with one instance when its transaction rolls back; told whether
 * the outcome is unknown (the connection died at COMMIT, so the transaction
 * may have committed after all).
 */
export type UndoEntry = (outcomeUnknown: boolean) => void;

/**
 * One open transaction (or savepoint) of one database, with the undo log of
 * every instance written or loaded inside it. When the transaction rolls
 * back, each instance written in it is put back exactly as it was before its
 * first write, so its next save checks the version the database really
 * holds; one loaded in it may hold a version that was never committed, and
 * is marked so that it must be refreshed before it writes.
 */
/** Whether an instance was written in the frame, or only loaded in it. */
export type UndoKind = 'write' | 'load';

export class TransactionFrame {
  readonly #undo = new Map<object, { readonly entry: UndoEntry; readonly kind: UndoKind }>();
  #failure: Error | undefined;
  #statementError: object | undefined;

  constructor(
    readonly db: object,
    readonly trx: Knex.Transaction,
    /** The enclosing frame, of any database. */
    readonly parent: TransactionFrame | undefined,
  ) {}

  /** The outermost open frame of the same database: the real transaction, which savepoints share. */
  root(): TransactionFrame {
    let root: TransactionFrame = this;
    for (let f = findFrame(this.parent, this.db); f !== undefined; f = findFrame(f.parent, this.db)) root = f;
    return root;
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
   * Records that a statement failed with `err`, which fn may have caught:
   * the database may have ended the transaction for it all the same.
   */
  noteStatementError(err: object): void {
    const root = this.root();
    root.#statementError ??= err;
  }

  /** The first statement error noted, if any. */
  get statementError(): object | undefined {
    return this.root().#statementError;
  }

  /**
   * Records how to undo `instance`. The first write's record counts (it
   * restores the state from before the transaction touched it); a write to
   * an instance only loaded so far first restores that, then still marks it
   * as loaded.
   */
  remember(instance: object, entry: UndoEntry, kind: UndoKind = 'write'): void {
    const had = this.#undo.get(instance);
    if (had === undefined) this.#undo.set(instance, { entry, kind });
    else if (had.kind === 'load' && kind === 'write') {
      this.#undo.set(instance, {
        entry: (outcomeUnknown) => {
          entry(outcomeUnknown);
          had.entry(outcomeUnknown);
        },
        kind,
      });
    }
  }

  /** The transaction committed: an enclosing transaction of the same database may still roll it back. */
  committed(): void {
    const outer = this.parent === undefined ? undefined : findFrame(this.parent, this.db);
    if (outer !== undefined) for (const [instance, { entry, kind }] of this.#undo) outer.remember(instance, entry, kind);
    this.#undo.clear();
  }

  /** The transaction rolled back (or, with `outcomeUnknown`, may have committed): undo every instance, latest first. */
  rolledBack(outcomeUnknown = false): void {
    const entries = [...this.#undo.values()].reverse();
    this.#undo.clear();
    for (const { entry } of entries) entry(outcomeUnknown);
  }
}

/** The innermost open frame of `db`, starting at `frame`. */
export function findFrame(frame: TransactionFrame | undefined, db: object): TransactionFrame | undefined {
  for (let f = frame; f !== undefined; f = f.parent) if (f.db === db) return f;
  return undefined;
}

