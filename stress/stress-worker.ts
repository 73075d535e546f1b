/**
 * One stress process (forked by run-stress.ts): `workers` async workers on
 * one connection pool, each doing `ops` read-modify-write increments of a
 * random hot row with retryOnConflict(). Reports what it was told back to
 * the parent over IPC; the parent judges.
 */
import { ConnectionLostError, connect, disableConcurrency, RecordModifiedError, RetryableError, retryOnConflict } from '../lib';
import type { Ack } from './check-history';
import { counterModel } from './counter-model';
import { stressKind } from './version-kinds';

export interface WorkerTask {
  readonly url: string;
  readonly table: string;
  readonly kind: string;
  readonly rowIds: readonly number[];
  readonly process: number;
  readonly workers: number;
  readonly ops: number;
  /** Save without the version check (`disableConcurrency`): the checker must then find lost updates. */
  readonly selfTest: boolean;
  /** Up to this many milliseconds between the read and the write, to widen the race. */
  readonly thinkMs: number;
  /** retryOnConflict() attempts per increment. */
  readonly attempts: number;
}

export interface WorkerResult {
  acks: Ack[];
  /** Increments that gave up after `attempts` conflicts: nothing was written. */
  failed: number;
  /** Tokens of increments whose outcome is unknown (connection lost at COMMIT or during the write). */
  indeterminate: string[];
  /** RecordModifiedError seen (each one retried or given up). */
  conflicts: number;
  /** RetryableError seen (deadlock, serialization failure, lock timeout, SQLite busy). */
  retryable: number;
  /** Read-modify-write runs in all. */
  runs: number;
  /** Anything unexpected; fails the run. */
  errors: string[];
}

export type WorkerMessage = { type: 'ready' } | { type: 'done'; result: WorkerResult } | { type: 'error'; message: string };

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function main(task: WorkerTask): Promise<WorkerResult> {
  const db = connect(task.url);
  const Counter = counterModel(db, task.table, stressKind(task.kind));
  const result: WorkerResult = { acks: [], failed: 0, indeterminate: [], conflicts: 0, retryable: 0, runs: 0, errors: [] };
  try {
    await Counter.get(task.rowIds[0]!);
    const go = new Promise<void>((resolve) => process.once('message', () => resolve()));
    process.send!({ type: 'ready' } satisfies WorkerMessage);
    await go;

    const increment = async (token: string): Promise<void> => {
      const row = task.rowIds[Math.floor(Math.random() * task.rowIds.length)]!;
      let ack: Ack | undefined;
      await retryOnConflict(
        async () => {
          result.runs++;
          const c = await Counter.get(row);
          const from = c.version;
          c.value += 1;
          c.log += `${token} `;
          if (task.thinkMs > 0) await sleep(Math.random() * task.thinkMs);
          try {
            await (task.selfTest ? disableConcurrency(() => c.save()) : c.save());
          } catch (err) {
            if (err instanceof RetryableError) result.retryable++;
            else if (err instanceof RecordModifiedError) result.conflicts++;
            throw err;
          }
          ack = { row, token, from, to: c.version };
        },
        { attempts: task.attempts },
      );
      result.acks.push(ack!);
    };

    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < task.ops; i++) {
        const token = `${task.process}.${w}.${i}`;
        try {
          await increment(token);
        } catch (err) {
          if (err instanceof ConnectionLostError && err.outcomeUnknown) result.indeterminate.push(token);
          else if (err instanceof RecordModifiedError || err instanceof RetryableError || err instanceof ConnectionLostError) result.failed++;
          else result.errors.push(String((err as Error)?.stack ?? err));
        }
      }
    };
    await Promise.all(Array.from({ length: task.workers }, (_, w) => worker(w)));
    return result;
  } finally {
    await db.close();
  }
}

main(JSON.parse(process.argv[2]!) as WorkerTask).then(
  (result) => process.send!({ type: 'done', result } satisfies WorkerMessage, () => process.exit(0)),
  (err: unknown) => process.send!({ type: 'error', message: String((err as Error)?.stack ?? err) } satisfies WorkerMessage, () => process.exit(1)),
);
