import { connect } from '../lib';
import { availabilityOf, TestDialectName } from '../spec/support/dialects';
import { checkHistory, CheckResult, RowState } from './check-history';
import { counterModel, createCounters } from './counter-model';
import { faultChecks, FaultFigures, faultFigures } from './fault-figures';
import { FaultPlan, FaultTarget, injectFaults } from './fault-injector';
import { memberChecks, whileDown } from './member-fault-figures';
import { StressProcesses } from './stress-processes';
import type { WorkerResult } from './stress-worker';
import type { StressTopology } from './stress-topology';
import type { StressKind } from './version-kinds';

export interface StressOptions {
  readonly dialect: TestDialectName;
  /** A database URL; by default the dialect's test database (see spec/support/dialects.ts), or the private server's under fault injection. */
  readonly url?: string;
  readonly kind: StressKind;
  readonly processes: number;
  readonly workers: number;
  /** Increments per worker (without fault injection; with it, the run lasts until the faults are over). */
  readonly ops: number;
  /** Hot rows the increments spread over. */
  readonly rows: number;
  readonly selfTest: boolean;
  readonly thinkMs: number;
  readonly attempts: number;
  /** Leave the counter table in place afterwards. */
  readonly keep?: boolean;
  /** Fault injection; PostgreSQL and MySQL need `server`, a private server the faults may strike. */
  readonly faults?: FaultPlan;
  readonly server?: FaultTarget;
  /** A cluster the processes spread over (see stress-topology.ts). */
  readonly topology?: StressTopology;
}

export interface StressReport extends CheckResult {
  readonly options: Omit<StressOptions, 'kind' | 'server'> & { kind: string };
  readonly table: string;
  readonly successes: number;
  readonly failed: number;
  readonly indeterminate: number;
  /** Of the increments of unknown outcome, how many the final state shows applied (each at most once, or a check fails). */
  readonly indeterminateApplied: number;
  readonly conflicts: number;
  readonly retryable: number;
  /** Read-modify-write runs beyond the first of each increment. */
  readonly retries: number;
  readonly seconds: number;
  /** Acknowledged increments per second, all processes together. */
  readonly throughput: number;
  /** Typed failures the workers met (connection refused, lost...), by class and reason. */
  readonly failuresByClass: Readonly<Record<string, number>>;
  /** One entry per injected fault. */
  readonly faults: readonly FaultFigures[];
  readonly errors: readonly string[];
}

function tally(names: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of names) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/**
 * Runs P processes x W workers of increments against a few hot rows, with
 * faults injected if asked, then checks the history. Resolves with the
 * figures and the checks; it does not judge the self-test (the caller
 * expects lost updates there).
 */
export async function runStress(o: StressOptions): Promise<StressReport> {
  if (o.faults !== undefined && o.dialect !== 'sqlite' && o.server === undefined) throw new Error(`fault injection on ${o.dialect} needs a private server (see stress/private-server.ts)`);
  const url = o.url ?? o.topology?.url ?? o.server?.url ?? (await availabilityOf(o.dialect)).url;
  if (url === undefined) throw new Error(`${o.dialect} is not available: ${(await availabilityOf(o.dialect)).error}`);
  const table = `kc_stress_${o.kind.name.replace(/VersionField$/, '').toLowerCase()}_${process.pid}`;
  // The parent's own reads and the table set-up: its idle connections die with each server fault, quietly.
  const db = connect(url);
  try {
    const Counter = counterModel(db, table, o.kind);
    const snapshot = async (): Promise<Map<number, RowState>> =>
      new Map((await Counter.query().orderBy('id')).map((c) => [c.id, { value: c.value, version: c.version, log: c.log }]));
    const rowIds = await createCounters(db.knex, db, table, o.kind, o.rows);
    const initial = await snapshot();
    const faulty = o.faults !== undefined;
    const processes = new StressProcesses({
      url,
      table,
      kind: o.kind.name,
      rowIds,
      workers: o.workers,
      ops: o.ops,
      selfTest: o.selfTest,
      thinkMs: o.thinkMs,
      attempts: o.attempts,
      faults: faulty,
      // SQLite writer kills land inside a transaction: it stays open a moment after its write.
      holdMs: faulty && o.server === undefined ? 3 : 0,
      topology: o.topology,
    });
    await processes.start(o.processes);
    const t0 = Date.now();
    const records = faulty ? await injectFaults(o.faults!, o.server, processes).finally(() => processes.stop()) : [];
    const history = await processes.finished();
    const end = Date.now();
    const seconds = (end - t0) / 1000;
    // A Galera node applies the others' commits a moment after they acknowledge them: wait until it has, then read.
    if (o.topology?.nodes !== undefined) await db.knex.raw(`SET STATEMENT wsrep_sync_wait=1 FOR SELECT COUNT(*) FROM ${table}`);
    const final = await snapshot();
    if (!o.keep) await db.knex.schema.dropTableIfExists(table);

    const checked = checkHistory({ countsSaves: o.kind.countsSaves, initial, final, acks: history.acks, indeterminate: history.indeterminate });
    const cluster = o.topology?.name === 'galera' || o.topology?.name === 'replicas' ? o.topology.name : undefined;
    const down = whileDown(records, history);
    const figures = faulty ? faultFigures(records, history.ackTimes, history.failures, o.faults!.settleMs, end).map((f, i) => (down[i] === undefined ? f : { ...f, whileDown: down[i] })) : [];
    const checks = faulty ? [...checked.checks, ...faultChecks(figures, o.faults!.count), ...(cluster === undefined ? [] : memberChecks(cluster, records, down))] : checked.checks;
    const applied = [...final.values()].flatMap((r) => r.log.split(' ')).filter((t) => history.indeterminate.has(t));
    const sum = (f: (r: WorkerResult) => number): number => history.results.reduce((n, r) => n + f(r), 0);
    const { server: _server, ...shown } = o;
    return {
      checks,
      lostUpdates: checked.lostUpdates,
      ok: checks.every((c) => c.ok),
      options: { ...shown, url, kind: o.kind.name },
      table,
      successes: history.acks.length,
      failed: sum((r) => r.failed),
      indeterminate: history.indeterminate.size,
      indeterminateApplied: new Set(applied).size,
      conflicts: sum((r) => r.conflicts),
      retryable: sum((r) => r.retryable),
      // Counted by the processes that ran to the end (a killed one takes its counts with it).
      retries: sum((r) => r.runs - r.acked - r.failed - r.unknown),
      seconds,
      throughput: history.acks.length / seconds,
      failuresByClass: tally(history.failures.map((f) => f.name)),
      faults: figures,
      errors: [...history.errors, ...history.results.flatMap((r) => r.errors)],
    };
  } finally {
    await db.close();
  }
}
