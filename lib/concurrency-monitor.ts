import type { Operation } from './errors';

/** A compare-and-swap write refused because someone else changed the row. */
export interface ConflictEvent {
  readonly model: string;
  readonly pk: unknown;
  readonly operation: Operation;
  /** The version the instance held. */
  readonly expectedVersion: number | null;
  /** The version the row has now. */
  readonly actualVersion: number | null;
  /** Fields changed both by the caller and by someone else. */
  readonly conflictingFields: readonly string[];
}

/** A write refused because someone else deleted the row. */
export interface DeletedEvent {
  readonly model: string;
  readonly pk: unknown;
  readonly operation: Operation;
  readonly expectedVersion: number | null;
}

/** `retryOnConflict()` is about to run its function again. */
export interface RetryEvent {
  /** The model of the conflicting row; `undefined` for a transaction the database aborted (deadlock, serialization...). */
  readonly model: string | undefined;
  readonly pk: unknown;
  /** The run that failed (1 for the first). */
  readonly attempt: number;
  /** How long it waits before the next run. */
  readonly delayMs: number;
  /** What the failed run threw. */
  readonly error: Error;
}

export interface ConcurrencyEvents {
  conflict: ConflictEvent;
  deleted: DeletedEvent;
  retry: RetryEvent;
}

export type ConcurrencyEventName = keyof ConcurrencyEvents;

/** Counts for one model (or all of them). */
export interface ModelStats {
  /** Successful inserts and updates through `save()`. */
  saves: number;
  /** Writes refused because the row had changed (`RecordModifiedError`, deletions excluded). */
  conflicts: number;
  /** Writes refused because the row was gone (`RecordDeletedError`). */
  deleted: number;
  /** Runs `retryOnConflict()` started again. */
  retries: number;
}

/** `db.stats()`: totals, and the same counts per model name. */
export interface ConcurrencyStats extends ModelStats {
  readonly byModel: Readonly<Record<string, Readonly<ModelStats>>>;
}

// The database a RetryableError came from, so retryOnConflict() can report its retry there.
const errorDatabases = new WeakMap<object, { readonly monitor: ConcurrencyMonitor }>();

/** @internal Notes the database whose statement raised `err`. */
export function noteErrorDatabase(err: object, db: { readonly monitor: ConcurrencyMonitor }): void {
  errorDatabases.set(err, db);
}

/** @internal The database noted for `err`, if any. */
export function databaseOfError(err: object): { readonly monitor: ConcurrencyMonitor } | undefined {
  return errorDatabases.get(err);
}

const EVENTS: readonly ConcurrencyEventName[] = ['conflict', 'deleted', 'retry'];
const zero = (): ModelStats => ({ saves: 0, conflicts: 0, deleted: 0, retries: 0 });

/**
 * @internal The contention counters and listeners of one `Database`. Counting
 * is a few integer increments on the write path; listeners run
 * synchronously, and one that throws is reported as a process warning
 * rather than turning a save's outcome into its error.
 */
export class ConcurrencyMonitor {
  readonly #listeners = new Map<ConcurrencyEventName, Set<(event: never) => void>>();
  #byModel = new Map<string, ModelStats>();

  on<E extends ConcurrencyEventName>(event: E, listener: (event: ConcurrencyEvents[E]) => void): void {
    if (!EVENTS.includes(event)) throw new TypeError(`db.on(): unknown event ${JSON.stringify(event)}; use one of ${EVENTS.join(', ')}`);
    if (typeof listener !== 'function') throw new TypeError('db.on(): the listener must be a function');
    let set = this.#listeners.get(event);
    if (set === undefined) this.#listeners.set(event, (set = new Set()));
    set.add(listener as (event: never) => void);
  }

  off<E extends ConcurrencyEventName>(event: E, listener: (event: ConcurrencyEvents[E]) => void): void {
    this.#listeners.get(event)?.delete(listener as (event: never) => void);
  }

  saved(model: string): void {
    this.#for(model).saves++;
  }

  conflict(event: ConflictEvent): void {
    this.#for(event.model).conflicts++;
    this.#emit('conflict', event);
  }

  deleted(event: DeletedEvent): void {
    this.#for(event.model).deleted++;
    this.#emit('deleted', event);
  }

  retry(event: RetryEvent): void {
    this.#for(event.model ?? '(transaction)').retries++;
    this.#emit('retry', event);
  }

  stats(): ConcurrencyStats {
    const total = zero();
    const byModel: Record<string, ModelStats> = {};
    for (const [model, s] of this.#byModel) {
      byModel[model] = Object.freeze({ ...s });
      total.saves += s.saves;
      total.conflicts += s.conflicts;
      total.deleted += s.deleted;
      total.retries += s.retries;
    }
    return Object.freeze({ ...total, byModel: Object.freeze(byModel) });
  }

  reset(): void {
    this.#byModel = new Map();
  }

  #for(model: string): ModelStats {
    let s = this.#byModel.get(model);
    if (s === undefined) this.#byModel.set(model, (s = zero()));
    return s;
  }

  #emit<E extends ConcurrencyEventName>(name: E, event: ConcurrencyEvents[E]): void {
    const set = this.#listeners.get(name);
    if (set === undefined || set.size === 0) return;
    const frozen = Object.freeze({ ...event }) as ConcurrencyEvents[E];
    for (const listener of [...set]) {
      try {
        (listener as (e: ConcurrencyEvents[E]) => void)(frozen);
      } catch (err) {
        process.emitWarning(`a db.on('${name}') listener threw: ${err instanceof Error ? err.message : String(err)}`, { code: 'KNEX_CONCURRENCY_LISTENER' });
      }
    }
  }
}
