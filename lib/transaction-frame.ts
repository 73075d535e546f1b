import type { Knex } from 'knex';

/**
 * One open transaction (or savepoint) of one database, with the undo log of
 * every instance written inside it. When the transaction rolls back, each
 * instance is put back exactly as it was before its first write in it, so
 * its next save checks the version the database really holds.
 */
export class TransactionFrame {
  readonly #undo = new Map<object, () => void>();
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

  /** Records how to restore `instance`; only the first record per instance counts. */
  remember(instance: object, restore: () => void): void {
    if (!this.#undo.has(instance)) this.#undo.set(instance, restore);
  }

  /** The transaction committed: an enclosing transaction of the same database may still roll it back. */
  committed(): void {
    const outer = this.parent === undefined ? undefined : findFrame(this.parent, this.db);
    if (outer !== undefined) for (const [instance, restore] of this.#undo) outer.remember(instance, restore);
    this.#undo.clear();
  }

  /** The transaction rolled back: restore every instance, latest first. */
  rolledBack(): void {
    const restores = [...this.#undo.values()].reverse();
    this.#undo.clear();
    for (const restore of restores) restore();
  }
}

/** The innermost open frame of `db`, starting at `frame`. */
export function findFrame(frame: TransactionFrame | undefined, db: object): TransactionFrame | undefined {
  for (let f = frame; f !== undefined; f = f.parent) if (f.db === db) return f;
  return undefined;
}

