import * as os from 'node:os';
import type { BenchOptions, ConnectKind, ImplName, TargetName } from './bench-options';
import { BenchEnv, closeTarget, openTarget, targetUrl } from './bench-target';
import { measureMemory, MemoryProbe } from './memory-probe';
import { StatementCount, statementsPerSave } from './statements-per-save';
import type { Check, Workload } from './workload';
import { contentionWorkload } from './workloads/contention-workload';
import { createWorkload } from './workloads/create-workload';
import { loadWorkload } from './workloads/load-workload';
import { batchWorkload } from './workloads/batch-workload';
import { saveWorkload } from './workloads/save-workload';

export const ALL_WORKLOADS: readonly Workload[] = [saveWorkload, loadWorkload, createWorkload, contentionWorkload, batchWorkload];

export interface Series {
  /** Operations per second, one per measured repetition, in run order. */
  readonly opsPerSec: number[];
  /**
   * This process's CPU time (user + system, driver threads included) per
   * operation, in microseconds: the client-side cost, which the load of
   * other processes on the machine barely disturbs.
   */
  readonly cpuMicrosPerOp: number[];
  /** Extra counts per repetition (conflicts...). */
  readonly extra: Record<string, number[]>;
}

export interface WorkloadResult {
  readonly id: string;
  readonly title: string;
  readonly unit: string;
  readonly target: number;
  readonly rawTarget?: number;
  readonly series: Partial<Record<ImplName, Series>>;
}

export interface CheckResult {
  readonly what: string;
  readonly ok: boolean;
}

export interface TargetResult {
  readonly name: TargetName;
  readonly connect: ConnectKind;
  readonly workloads: WorkloadResult[];
  readonly statements: StatementCount[];
  readonly memory: MemoryProbe | undefined;
  readonly checks: CheckResult[];
  readonly seconds: number;
  /** 1-minute load average when the target started and ended. */
  readonly load: [number, number];
}

export interface BenchReport {
  readonly node: string;
  readonly cpus: number;
  readonly reps: number;
  readonly targets: TargetResult[];
  readonly seconds: number;
}

/** Progress lines for the console; the smoke spec passes a silent one. */
export type Log = (line: string) => void;

interface Measured {
  readonly ops: number;
  readonly seconds: number;
  readonly cpuMicros: number;
  readonly extra: Record<string, number>;
}

async function timed(env: BenchEnv, w: Workload, impl: ImplName, ops: number, check: Check): Promise<Measured> {
  const trial = await w.trial(env, impl, ops);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  await trial.run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const used = process.cpuUsage(cpu);
  await trial.verify((ok, what) => check(ok, `${w.id} ${impl}: ${what}`));
  return { ops: trial.ops, seconds, cpuMicros: used.user + used.system, extra: trial.extra?.() ?? {} };
}

/**
 * One database: warm every (workload, implementation) up once, then run the
 * measured repetitions. Each repetition runs every workload by every
 * implementation in rounds, the implementations taking turns in a rotating
 * order, so drift and noise hit all three alike; one repetition gives one
 * sample per implementation (its operations over its time, all rounds
 * together). Then statements per save and the heap probe.
 */
async function benchTarget(name: TargetName, kind: ConnectKind, url: string, options: BenchOptions, log: Log): Promise<TargetResult> {
  const started = Date.now();
  const load: [number, number] = [os.loadavg()[0]!, 0];
  const checks: CheckResult[] = [];
  const check: Check = (ok, what) => {
    checks.push({ what, ok });
    if (!ok) log(`  CHECK FAILED [${name} ${kind}] ${what}`);
  };
  const workloads = ALL_WORKLOADS.filter((w) => options.workloads.includes(w.id));
  const env = openTarget(name, url, options.sizes, options.tablePrefix, kind);
  const implsOf = (w: Workload) => w.impls?.(options.impls) ?? options.impls;
  const results: WorkloadResult[] = workloads.map((w) => ({ id: w.id, title: w.title(options.sizes), unit: w.unit, target: w.target, rawTarget: w.rawTarget, series: {} }));
  let statements: StatementCount[] = [];
  try {
    for (const w of workloads) await w.setup(env);
    for (const w of workloads) {
      for (const impl of implsOf(w)) await timed(env, w, impl, Math.max(1, Math.ceil(w.plan(options.sizes).ops / 4)), check);
    }
    for (let rep = 0; rep < options.reps; rep++) {
      for (const [wi, w] of workloads.entries()) {
        const { rounds, ops } = w.plan(options.sizes);
        const sums = new Map<ImplName, { ops: number; seconds: number; cpuMicros: number; extra: Record<string, number> }>();
        const impls = implsOf(w);
        for (let round = 0; round < rounds; round++) {
          const turn = rep * rounds + round + wi;
          for (let i = 0; i < impls.length; i++) {
            const impl = impls[(i + turn) % impls.length]!;
            const m = await timed(env, w, impl, ops, check);
            const sum = sums.get(impl) ?? { ops: 0, seconds: 0, cpuMicros: 0, extra: {} };
            sum.ops += m.ops;
            sum.seconds += m.seconds;
            sum.cpuMicros += m.cpuMicros;
            for (const [k, v] of Object.entries(m.extra)) sum.extra[k] = (sum.extra[k] ?? 0) + v;
            sums.set(impl, sum);
          }
        }
        for (const [impl, sum] of sums) {
          const series = (results[wi]!.series[impl] ??= { opsPerSec: [], cpuMicrosPerOp: [], extra: {} });
          series.opsPerSec.push(sum.ops / sum.seconds);
          series.cpuMicrosPerOp.push(sum.cpuMicros / sum.ops);
          for (const [k, v] of Object.entries(sum.extra)) (series.extra[k] ??= []).push(v);
        }
      }
      log(`  ${name} (${kind}): repetition ${rep + 1}/${options.reps} done`);
    }
    if (options.impls.includes('kc')) statements = await statementsPerSave(env, check);
  } finally {
    await closeTarget(env);
  }
  let memory: MemoryProbe | undefined;
  // Once per database: the heap does not depend on how connect() got it.
  if (options.memory && options.impls.includes('kc') && kind === options.connect[0]) {
    // A target, like the speed ratios, not a correctness check: it does not fail the run.
    memory = await measureMemory(url, `${options.tablePrefix}memory`, options.sizes.memoryRows);
    check(memory.rows === options.sizes.memoryRows, `the heap probe loaded ${memory.rows} rows`);
  }
  load[1] = os.loadavg()[0]!;
  return { name, connect: kind, workloads: results, statements, memory, checks, seconds: (Date.now() - started) / 1000, load };
}

/**
 * Runs the bench on every target in `options`. `urls` overrides where a
 * target lives (the smoke spec passes its own test databases).
 */
export async function runBench(options: BenchOptions, log: Log, urls: Partial<Record<TargetName, string>> = {}): Promise<BenchReport> {
  const started = Date.now();
  const targets: TargetResult[] = [];
  for (const name of options.targets) {
    const url = urls[name] ?? (await targetUrl(name, options.database));
    for (const kind of options.connect) {
      log(`${name} (${kind}): ${url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@')}`);
      targets.push(await benchTarget(name, kind, url, options, log));
    }
  }
  return { node: process.version, cpus: os.cpus().length, reps: options.reps, targets, seconds: (Date.now() - started) / 1000 };
}

/** Every failed correctness check, by target. */
export function failures(report: BenchReport): string[] {
  return report.targets.flatMap((t) => t.checks.filter((c) => !c.ok).map((c) => `[${t.name} ${t.connect}] ${c.what}`));
}
