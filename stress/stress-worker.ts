/**
 * One stress process (forked by run-stress.ts): `workers` async workers on
 * one connection pool, each doing read-modify-write increments of a random
 * hot row with retryOnConflict(), `ops` of them or, under fault injection,
 * until the parent says stop. It streams what it was told to the parent
 * over IPC (each increment's intent before its write can land, each
 * acknowledgement, each typed failure), so that nothing is lost when the
 * parent kills it; the parent judges.
 */
import {
  ConnectionLostError,
  connect,
  DatabaseUnavailableError,
  disableConcurrency,
  KnexConcurrencyError,
  RecordModifiedError,
  RetryableError,
  retryOnConflict,
} from '../lib';
import type { Ack } from './check-history';
import { counterModel } from './counter-model';
import { connectTargetFor, type StressTopology } from './stress-topology';
import { stressKind } from './version-kinds';

export interface WorkerTask {
  readonly url: string;
  readonly table: string;
  readonly kind: string;
  readonly rowIds: readonly number[];
  readonly process: number;
  readonly workers: number;
  /** Increments per worker; under fault injection the parent's 'stop' ends the run instead. */
  readonly ops: number;
  /** Save without the version check (`disableConcurrency`): the checker must then find lost updates. */
  readonly selfTest: boolean;
  /** Up to this many milliseconds between the read and the write, to widen the race. */
  readonly thinkMs: number;
  /** retryOnConflict() attempts per increment. */
  readonly attempts: number;
  /**
   * Fault injection: every other worker runs its increments in
   * `db.transaction()` (so faults also strike BEGIN and COMMIT), and a
   * failure that wrote nothing is run again after a short pause instead of
   * being given up.
   */
  readonly faults: boolean;
  /** Milliseconds a transaction stays open after its write, so a kill lands inside it (SQLite writer kills). */
  readonly holdMs: number;
  /** A cluster to spread over instead of `url` alone (see stress-topology.ts). */
  readonly topology?: StressTopology;
}

/** What a process counted; the increments themselves are streamed. */
export interface WorkerResult {
  /** Increments that gave up after `attempts` conflicts: nothing was written. */
  failed: number;
  /** RecordModifiedError seen (each one retried or given up). */
  conflicts: number;
  /** RetryableError seen (deadlock, serialization failure, lock timeout, SQLite busy). */
  retryable: number;
  /** Read-modify-write runs in all. */
  runs: number;
  /** Increments acknowledged, and given up as of unknown outcome. */
  acked: number;
  unknown: number;
  /** Anything unexpected (an error that is not the library's typed error for the situation); fails the run. */
  errors: string[];
}

/** A failure the worker met: its class (and reason) and when the failed attempt started. */
export interface FailureEvent {
  readonly name: string;
  readonly started: number;
  readonly at: number;
  /** The increment was given up as of unknown outcome. */
  readonly unknown: boolean;
}

export type WorkerMessage =
  | { type: 'ready' }
  /** An increment is about to write: if the process dies before its ack, its outcome is unknown. */
  | { type: 'intent'; token: string }
  /** A transaction with this increment is about to COMMIT (SQLite writer kills only). */
  | { type: 'committing'; token: string }
  | { type: 'ack'; ack: Ack; at: number }
  /** An increment whose outcome is unknown (the worker moves on to the next one). */
  | { type: 'unknown'; token: string }
  | { type: 'failure'; failure: FailureEvent }
  /** A read served outside a transaction (from a replica), under faults on a replica set: what keeps working while the primary is down. */
  | { type: 'read'; at: number }
  /** The process moved from one Galera node to the next (the library's warning), by SQL port. */
  | { type: 'failover'; from: number; to: number; at: number }
  | { type: 'done'; result: WorkerResult }
  | { type: 'error'; message: string };

// How long one increment keeps trying while the database does not answer.
const GIVE_UP_MS = 60_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function send(message: WorkerMessage): void {
  process.send!(message);
}

/** The class of a failure, with its reason, as the report counts it. */
export function failureName(err: unknown): string {
  if (err instanceof DatabaseUnavailableError) return `DatabaseUnavailableError(${err.reason})`;
  if (err instanceof ConnectionLostError) return `ConnectionLostError(${err.outcomeUnknown ? 'outcome unknown' : 'nothing written'})`;
  if (err instanceof RetryableError) return `RetryableError(${err.reason})`;
  return (err as Error)?.name ?? typeof err;
}

// The library's warning when a { nodes } database moves on: `<label> is unreachable (<reason>); moving to <label>`.
const MOVING = /^(\S+) is unreachable \([^)]*\); moving to (\S+)$/;

const portOf = (label: string): number => {
  try {
    return Number(new URL(label).port);
  } catch {
    return 0;
  }
};

/** The library's messages: a failover is reported to the parent (the report counts them), anything else printed. */
const logger = {
  warn(message: string): void {
    const moving = MOVING.exec(message);
    if (moving !== null) send({ type: 'failover', from: portOf(moving[1]!), to: portOf(moving[2]!), at: Date.now() });
    else console.warn(`knex-concurrency: ${message}`);
  },
  error: (message: string): void => console.error(`knex-concurrency: ${message}`),
};

/**
 * An error that is not the library's typed error for the situation, for the
 * report: its class, the driver's code and errno, the end of its message
 * (Knex puts the whole statement, with a long log, in front) and the stack.
 */
function unexpected(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; errno?: unknown; message?: unknown; stack?: unknown } | null;
  if (e === null || typeof e !== 'object') return String(err);
  const message = String(e.message ?? '').replace(/^[\s\S]* - (?=[^-]*$)/, '');
  const stack = String(e.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l)).slice(0, 8).join('\n');
  return `${String(e.name)} (code ${String(e.code)}, errno ${String(e.errno)}): ${message.slice(0, 500)}\n${stack}`;
}

async function main(task: WorkerTask): Promise<WorkerResult> {
  const isolation = task.topology?.isolation;
  // connect()'s isolation option: every transaction of this database runs at it.
  const db = connect(task.topology === undefined ? task.url : connectTargetFor(task.topology, task.url, task.process), { log: logger, ...(isolation === undefined ? {} : { isolation }) });
  // While faults strike a replica set's primary, count the reads the replica still serves.
  const countReads = task.faults && task.topology?.replicas !== undefined;
  const Counter = counterModel(db, task.table, stressKind(task.kind));
  const result: WorkerResult = { failed: 0, conflicts: 0, retryable: 0, runs: 0, acked: 0, unknown: 0, errors: [] };
  let stopping = false;
  try {
    await Counter.get(task.rowIds[0]!);
    const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
    process.send!({ type: 'ready' } satisfies WorkerMessage);
    await go;
    process.on('message', (m) => {
      if (m === 'stop') stopping = true;
    });

    /**
     * At SERIALIZABLE (--topology serializable), half the workers (process +
     * worker number even) read and write in one transaction (the database
     * itself refuses the lost update, with 40001); the other half read
     * outside it and write in one, as a web form's save does, where only the
     * version check stands between them and a lost update (so the self-test
     * can catch losses).
     */
    const increment = async (token: string, inTransaction: boolean, w: number): Promise<Ack> => {
      const row = task.rowIds[Math.floor(Math.random() * task.rowIds.length)]!;
      let ack: Ack | undefined;
      let announced = false;
      const once = async (): Promise<void> => {
        result.runs++;
        const c = await Counter.get(row);
        if (countReads && !inTransaction) send({ type: 'read', at: Date.now() });
        const from = c.version;
        c.value += 1;
        c.log += `${token} `;
        if (task.thinkMs > 0) await sleep(Math.random() * task.thinkMs);
        if (!announced) {
          send({ type: 'intent', token });
          announced = true;
        }
        try {
          const write = (): Promise<void> => (task.selfTest ? disableConcurrency(() => c.save()) : c.save());
          await (isolation !== undefined && (task.process + w) % 2 === 1 ? db.transaction(write) : write());
        } catch (err) {
          if (err instanceof RetryableError) result.retryable++;
          else if (err instanceof RecordModifiedError) result.conflicts++;
          throw err;
        }
        if (inTransaction && task.holdMs > 0) {
          await sleep(Math.random() * task.holdMs);
          // The transaction commits next: a kill a moment from now may land between COMMIT and the ack.
          send({ type: 'committing', token });
        }
        ack = { row, token, from, to: c.version };
      };
      const run = isolation !== undefined && (task.process + w) % 2 === 0 ? () => db.transaction(once) : inTransaction ? () => db.transaction(once) : once;
      await retryOnConflict(run, { attempts: task.attempts });
      // Committed, not yet acknowledged (an application replying to its client): a kill now leaves an applied write of unknown outcome.
      if (inTransaction && task.holdMs > 0) await sleep(Math.random() * task.holdMs);
      return ack!;
    };

    const worker = async (w: number): Promise<void> => {
      const inTransaction = task.faults && w % 2 === 1;
      for (let i = 0; task.faults ? !stopping : i < task.ops; i++) {
        const token = `${task.process}.${w}.${i}`;
        const since = Date.now();
        for (;;) {
          const started = Date.now();
          try {
            const ack = await increment(token, inTransaction, w);
            send({ type: 'ack', ack, at: Date.now() });
            result.acked++;
            break;
          } catch (err) {
            const unknown = err instanceof ConnectionLostError && err.outcomeUnknown;
            if (err instanceof DatabaseUnavailableError || err instanceof ConnectionLostError) {
              send({ type: 'failure', failure: { name: failureName(err), started, at: Date.now(), unknown } });
            }
            if (unknown) {
              // Never blindly repeated: it may have been applied.
              send({ type: 'unknown', token });
              result.unknown++;
              break;
            }
            if ((err instanceof DatabaseUnavailableError || err instanceof ConnectionLostError) && task.faults && Date.now() - since < GIVE_UP_MS) {
              // Nothing was written: the same increment runs again once the database answers.
              await sleep(20 + Math.random() * 30);
              continue;
            }
            if (err instanceof KnexConcurrencyError && (err instanceof RecordModifiedError || err instanceof RetryableError || err instanceof DatabaseUnavailableError || err instanceof ConnectionLostError)) {
              result.failed++;
            } else {
              result.errors.push(unexpected(err));
            }
            break;
          }
        }
      }
    };
    await Promise.all(Array.from({ length: task.workers }, (_, w) => worker(w)));
    return result;
  } finally {
    await db.close();
  }
}

// The parent gone (Ctrl-C, a kill): nobody is left to report to, and its private servers are going away.
process.once('disconnect', () => process.exit(1));

main(JSON.parse(process.argv[2]!) as WorkerTask).then(
  (result) => process.send!({ type: 'done', result } satisfies WorkerMessage, () => process.exit(0)),
  (err: unknown) => process.send!({ type: 'error', message: String((err as Error)?.stack ?? err) } satisfies WorkerMessage, () => process.exit(1)),
);
