interface LeasePool {
  on(event: 'acquireRequest', listener: () => void): void;
  numPendingAcquires(): number;
}

/** The part of a Knex client a lease uses: its pool and Knex's own acquire and release. */
export interface LeaseClient {
  readonly pool: LeasePool | undefined;
  acquireConnection(): Promise<object>;
  releaseConnection(connection: object): Promise<unknown>;
}

const leases = new WeakMap<object, ConnectionLease>();

/**
 * Keeps the pool connection a statement of the library has just finished
 * with for the library's next statement, until the event loop next turns.
 *
 * A loop of `save()` runs one statement per turn of the event loop, and the
 * pool's acquire and release (two pending operations, two timers and several
 * promise hops in tarn and Knex) were about a tenth of a save on SQLite. The
 * statement that follows the answer of the previous one, in the same turn,
 * now takes the connection from here, synchronously.
 *
 * Nobody waits longer for it: when anyone else asks the pool for a connection
 * (a query of your own, a transaction) a connection held here goes back to
 * the pool at once, before the pool looks for a free one; a connection is
 * not kept when the pool already has someone waiting; and whatever is held
 * goes back at the end of the turn (`process.nextTick`, once this turn's
 * promise jobs have run), so an idle application
 * holds nothing. A connection a statement failed on is never kept (it may
 * be dead: the pool validates it), nor one marked disposed.
 */
export class ConnectionLease {
  readonly #client: LeaseClient;
  #held: object | undefined;
  #turnEndScheduled = false;
  #listening: LeasePool | undefined;

  private constructor(client: LeaseClient) {
    this.#client = client;
  }

  /** The lease of a Knex client (one per pool owner; a transaction's client has none). */
  static of(client: LeaseClient): ConnectionLease {
    let lease = leases.get(client);
    if (lease === undefined) leases.set(client, (lease = new ConnectionLease(client)));
    return lease;
  }

  /** Returns whatever a client's lease holds to its pool; for `close()`. */
  static releaseHeld(client: object): void {
    leases.get(client)?.release();
  }

  /** The connection held here, now yours until `give()`; `undefined`: ask the pool. */
  take(): object | undefined {
    const held = this.#held;
    if (held === undefined) return undefined;
    this.#held = undefined;
    // The pool was replaced (Knex re-initialised after destroy()): the connection is not this pool's to lend.
    if (this.#listening !== this.#client.pool || isDisposed(held)) {
      void this.#client.releaseConnection(held);
      return undefined;
    }
    return held;
  }

  /**
   * Hands back a connection taken from here or from the pool. It is kept for
   * the next statement only when `reusable` (the statement succeeded), nobody
   * waits for the pool, and nothing else is held; otherwise the pool gets it.
   */
  give(connection: object, reusable: boolean): void {
    const pool = this.#client.pool;
    if (!reusable || this.#held !== undefined || pool === undefined || pool.numPendingAcquires() > 0 || isDisposed(connection)) {
      void this.#client.releaseConnection(connection);
      return;
    }
    if (this.#listening !== pool) {
      this.#listening = pool;
      // Emitted synchronously by tarn's acquire(), before it looks for a free connection.
      pool.on('acquireRequest', () => this.release());
    }
    this.#held = connection;
    if (!this.#turnEndScheduled) {
      this.#turnEndScheduled = true;
      // Runs once the promise jobs of this turn have run (the next statement
      // of a save loop is issued in them), before the loop turns: lighter
      // than an Immediate, and the connection goes back no later.
      process.nextTick(this.#atTurnEnd);
    }
  }

  /** Returns the held connection, if any, to the pool. */
  release(): void {
    const held = this.#held;
    if (held === undefined) return;
    this.#held = undefined;
    void this.#client.releaseConnection(held);
  }

  readonly #atTurnEnd = (): void => {
    this.#turnEndScheduled = false;
    this.release();
  };
}

// Knex's pool refuses to lend a connection marked so (see discardConnection).
function isDisposed(connection: object): boolean {
  return (connection as { __knex__disposed?: unknown }).__knex__disposed !== undefined;
}
