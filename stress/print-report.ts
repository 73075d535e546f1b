import type { StressReport } from './run-stress';

/** The figures and the verdict of one run, as lines for a terminal. */
export function formatReport(r: StressReport): string {
  const o = r.options;
  const mode = o.selfTest ? 'SELF-TEST (version check disabled)' : 'checked saves';
  const lines = [
    `${o.dialect} / ${o.kind}: ${o.processes} processes x ${o.workers} workers x ${o.ops} increments on ${o.rows} hot row(s), ${mode}`,
    `  successes ${r.successes}, failed ${r.failed}, outcome unknown ${r.indeterminate}`,
    `  conflicts ${r.conflicts} (RecordModifiedError), retryable database errors ${r.retryable}, retries ${r.retries}`,
    `  ${r.seconds.toFixed(2)} s, ${r.throughput.toFixed(0)} increments/s`,
  ];
  for (const c of r.checks) {
    lines.push(`  [${c.ok ? 'ok' : 'FAIL'}] ${c.name}${c.ok ? '' : `: ${c.violations} violation(s)`}`);
    for (const e of c.examples) lines.push(`         ${e}`);
  }
  for (const e of r.errors.slice(0, 5)) lines.push(`  unexpected error: ${e}`);
  lines.push(
    o.selfTest
      ? r.lostUpdates > 0
        ? `  self-test passed: the checker detected ${r.lostUpdates} lost update(s) with the version check disabled`
        : '  SELF-TEST FAILED: no lost update detected with the version check disabled; raise the contention (--rows 1, --think-ms, more workers)'
      : r.ok && r.errors.length === 0
        ? '  no lost update: every check holds'
        : `  LOST UPDATES OR ANOMALIES: ${r.lostUpdates} lost update(s)`,
  );
  return lines.join('\n');
}

/** Whether a run is a pass: all checks hold, or, for the self-test, the checker caught lost updates. */
export function passed(r: StressReport): boolean {
  if (r.errors.length > 0) return false;
  return r.options.selfTest ? r.lostUpdates > 0 && !r.ok : r.ok;
}
