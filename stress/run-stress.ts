import { fork } from 'node:child_process';
import * as path from 'node:path';
import { connect } from '../lib';
import { availabilityOf, TestDialectName } from '../spec/support/dialects';
import { checkHistory, CheckResult, RowState } from './check-history';
import { counterModel, createCounters } from './counter-model';
import type { WorkerMessage, WorkerResult, WorkerTask } from './stress-worker';
import type { StressKind } from './version-kinds';

export interface StressOptions {
  readonly dialect: TestDialectName;
  /** A database URL; by default the dialect's test database (see spec/support/dialects.ts). */
  readonly url?: string;
  readonly kind: StressKind;
  readonly processes: number;
  readonly workers: number;
  /** Increments per worker. */
  readonly ops: number;
  /** Hot rows the increments spread over. */
  readonly rows: number;
  readonly selfTest: boolean;
  readonly thinkMs: number;
  readonly attempts: number;
  /** Leave the counter table in place afterwards. */
  readonly keep?: boolean;
}

export interface StressReport extends CheckResult {
  readonly options: Omit<StressOptions, 'kind'> & { kind: string };
  readonly table: string;
  readonly successes: number;
  readonly failed: number;
  readonly indeterminate: number;
  readonly conflicts: number;
  readonly retryable: number;
  /** Read-modify-write runs beyond the first of each increment. */
  readonly retries: number;
  readonly seconds: number;
  /** Acknowledged increments per second, all processes together. */
  readonly throughput: number;
  readonly errors: readonly string[];
}

const WORKER = path.join(__dirname, 'stress-worker.js');

/** Forks one stress process; resolves once it is connected and waiting for 'go'. */
function start(task: WorkerTask): Promise<{ go(): void; done: Promise<WorkerResult> }> {
  return new Promise((ready, failed) => {
    const child = fork(WORKER, [JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let settle: { resolve(r: WorkerResult): void; reject(e: Error): void } | undefined;
    const done = new Promise<WorkerResult>((resolve, reject) => (settle = { resolve, reject }));
    done.catch(() => undefined);
    child.on('message', (m: WorkerMessage) => {
      if (m.type === 'ready') ready({ go: () => child.send('go'), done });
      else if (m.type === 'done') settle!.resolve(m.result);
      else {
        const err = new Error(`stress process ${task.process} failed: ${m.message}`);
        failed(err);
        settle!.reject(err);
      }
    });
    child.on('exit', (code) => {
      const err = new Error(`stress process ${task.process} exited with ${code}`);
      failed(err);
      settle!.reject(err);
    });
  });
}

/**
 * Runs P processes x W workers x N increments against a few hot rows, then
 * checks the history. Resolves with the figures and the checks; it does not
 * judge the self-test (the caller expects lost updates there).
 */
export async function runStress(o: StressOptions): Promise<StressReport> {
  const url = o.url ?? (await availabilityOf(o.dialect)).url;
  if (url === undefined) throw new Error(`${o.dialect} is not available: ${(await availabilityOf(o.dialect)).error}`);
  const table = `kc_stress_${o.kind.name.replace(/VersionField$/, '').toLowerCase()}_${process.pid}`;
  const db = connect(url);
  try {
    const Counter = counterModel(db, table, o.kind);
    const snapshot = async (): Promise<Map<number, RowState>> =>
      new Map((await Counter.query().orderBy('id')).map((c) => [c.id, { value: c.value, version: c.version, log: c.log }]));
    const rowIds = await createCounters(db.knex, db, table, o.kind, o.rows);
    const initial = await snapshot();
    const base = { url, table, kind: o.kind.name, rowIds, workers: o.workers, ops: o.ops, selfTest: o.selfTest, thinkMs: o.thinkMs, attempts: o.attempts };
    const children = await Promise.all(Array.from({ length: o.processes }, (_, p) => start({ ...base, process: p })));
    const t0 = process.hrtime.bigint();
    children.forEach((c) => c.go());
    const results = await Promise.all(children.map((c) => c.done));
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const final = await snapshot();
    if (!o.keep) await db.knex.schema.dropTableIfExists(table);

    const acks = results.flatMap((r) => r.acks);
    const indeterminate = new Set(results.flatMap((r) => r.indeterminate));
    const checked = checkHistory({ countsSaves: o.kind.countsSaves, initial, final, acks, indeterminate });
    const sum = (f: (r: WorkerResult) => number): number => results.reduce((n, r) => n + f(r), 0);
    const increments = o.processes * o.workers * o.ops;
    return {
      ...checked,
      options: { ...o, url, kind: o.kind.name },
      table,
      successes: acks.length,
      failed: sum((r) => r.failed),
      indeterminate: indeterminate.size,
      conflicts: sum((r) => r.conflicts),
      retryable: sum((r) => r.retryable),
      retries: sum((r) => r.runs) - increments,
      seconds,
      throughput: acks.length / seconds,
      errors: results.flatMap((r) => r.errors),
    };
  } finally {
    await db.close();
  }
}
