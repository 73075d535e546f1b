import type { ImplName } from './bench-options';
import { BenchReport, failures, Series, TargetResult, WorkloadResult } from './run-bench';

const IMPL_TITLES: Record<ImplName, string> = { kc: 'knex-concurrency', knex: 'hand-written Knex', raw: 'raw driver (prepared)', loop: 'a loop of save()' };

/** Workload E: how much faster `saveAll()` must be than a loop of `save()`, per database. */
export function batchTarget(name: string): number {
  return name.startsWith('sqlite') ? 3 : 10;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function num(x: number): string {
  return x >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(1);
}

function cell(series: Series | undefined): string {
  if (series === undefined || series.opsPerSec.length === 0) return '-';
  const xs = series.opsPerSec;
  return `${num(median(xs))} [${num(Math.min(...xs))}-${num(Math.max(...xs))}]`;
}

/** kc's median over another implementation's median, or `undefined` when either did not run. */
export function ratio(w: WorkloadResult, other: ImplName): number | undefined {
  const kc = w.series.kc?.opsPerSec;
  const o = w.series[other]?.opsPerSec;
  if (!kc?.length || !o?.length) return undefined;
  return median(kc) / median(o);
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
}

function workloadRows(t: TargetResult): string[][] {
  return t.workloads.map((w) => {
    const rk = ratio(w, 'knex');
    const rr = ratio(w, 'raw');
    const verdicts: string[] = [];
    if (rk !== undefined) verdicts.push(`${rk >= w.target ? 'met' : 'MISSED'} (>= ${w.target.toFixed(1)}x Knex)`);
    if (rr !== undefined && w.rawTarget !== undefined) verdicts.push(`${rr >= w.rawTarget ? 'met' : 'MISSED'} (>= ${w.rawTarget.toFixed(1)}x raw)`);
    const verdict = verdicts.join(', ');
    return [
      `${w.title} [${w.unit}]`,
      cell(w.series.kc),
      cell(w.series.knex),
      cell(w.series.raw),
      rk === undefined ? '-' : `${rk.toFixed(2)}x`,
      rr === undefined ? '-' : `${rr.toFixed(2)}x`,
      verdict,
    ];
  });
}

function targetSection(t: TargetResult): string[] {
  const header = ['workload', IMPL_TITLES.kc, IMPL_TITLES.knex, IMPL_TITLES.raw, 'kc/Knex', 'kc/raw', 'target'];
  const rows = workloadRows(t);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [`${t.name}, connect(${t.connect})  (${t.seconds.toFixed(0)} s, 1-min load ${t.load[0].toFixed(2)} -> ${t.load[1].toFixed(2)})`, pad(header, widths)];
  for (const r of rows) lines.push(pad(r, widths));
  lines.push('client CPU per operation, median microseconds (this process, driver threads included):');
  for (const w of t.workloads) {
    const cpu = (impl: ImplName) => {
      const xs = w.series[impl]?.cpuMicrosPerOp;
      return xs?.length ? median(xs).toFixed(1) : '-';
    };
    lines.push(`  ${w.id}: kc ${cpu('kc')}, Knex ${cpu('knex')}, raw ${cpu('raw')}`);
  }
  const d = t.workloads.find((w) => w.id === 'D');
  if (d !== undefined) {
    const per = (impl: ImplName) => {
      const c = d.series[impl]?.extra.conflicts;
      return c === undefined ? "-" : median(c).toFixed(0);
    };
    lines.push(`D conflicts retried per repetition (median): kc ${per('kc')}, Knex ${per('knex')}, raw ${per('raw')}`);
  }
  const e = t.workloads.find((w) => w.id === 'E');
  const loop = e?.series.loop;
  if (e !== undefined && loop !== undefined && loop.opsPerSec.length > 0) {
    const r = ratio(e, 'loop')!;
    const target = batchTarget(t.name);
    lines.push(`E ${IMPL_TITLES.loop}: ${cell(loop)} ${e.unit}; saveAll()/loop ${r.toFixed(2)}x (${r >= target ? 'met' : 'MISSED'}, >= ${target}x)`);
    const x = e.series.kc?.extra;
    const sum = (k: string) => (x?.[k] ?? []).reduce((a, b) => a + b, 0);
    if (sum('batches') > 0) {
      lines.push(`E statements per saveAll() of ${e.title.match(/\d+/)?.[0]} rows: ${(sum('statements') / sum('batches')).toFixed(1)} Knex query events (BEGIN and COMMIT included), ${(sum('roundTrips') / sum('batches')).toFixed(1)} round trips or driver executions`);
    }
  }
  for (const s of t.statements) {
    lines.push(`statements per save(), ${s.versionField}: ${s.queryEvents} Knex query event(s), ${s.roundTrips} ${s.roundTripUnit} (over ${s.saves} saves)`);
  }
  const m = t.memory;
  if (m !== undefined) {
    lines.push(
      `heap: ${m.rows} instances ${m.instanceBytesPerRow.toFixed(0)} B each vs ${m.plainBytesPerRow.toFixed(0)} B per plain row = ` +
        `${m.ratio.toFixed(2)}x (${m.ratio <= 1.5 ? 'met' : 'MISSED'}, <= 1.5x)`,
    );
  }
  const passed = t.checks.filter((c) => c.ok).length;
  lines.push(`correctness checks: ${passed}/${t.checks.length} passed`);
  return lines;
}

/** The report as the console table: median [min-max] per second and kc's ratios. */
export function formatReport(report: BenchReport): string {
  const lines = [
    `knex-concurrency bench: node ${report.node}, ${report.cpus} CPUs, ${report.reps} repetitions after a warm-up, ${report.seconds.toFixed(0)} s`,
    'each repetition runs the implementations in turn, in rounds (A, B, C: 4 rounds; D: 2), and gives one sample each',
    'operations per second, median [min-max] over repetitions; kc/Knex and kc/raw are ratios of medians (above 1 = knex-concurrency is faster)',
    '',
  ];
  for (const t of report.targets) lines.push(...targetSection(t), '');
  const failed = failures(report);
  lines.push(failed.length === 0 ? 'ALL CORRECTNESS CHECKS PASSED' : `${failed.length} CORRECTNESS CHECK(S) FAILED:\n  ${failed.join('\n  ')}`);
  return lines.join('\n');
}
