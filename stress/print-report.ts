import type { StressReport } from './run-stress';

const ms = (n: number | null): string => (n === null ? 'never' : `${Math.round(n)} ms`);

/** The figures and the verdict of one run, as lines for a terminal. */
export function formatReport(r: StressReport): string {
  const o = r.options;
  const mode = o.selfTest ? 'SELF-TEST (version check disabled)' : 'checked saves';
  const length = o.faults ? `increments until ${o.faults.count} fault(s) are over (--faults ${o.faults.mode})` : `${o.ops} increments`;
  const lines = [
    `${o.dialect}${o.topology === undefined ? '' : ` (${o.topology.name})`} / ${o.kind}: ${o.processes} processes x ${o.workers} workers x ${length} on ${o.rows} hot row(s), ${mode}`,
    `  successes ${r.successes}, failed ${r.failed}, outcome unknown ${r.indeterminate} (applied ${r.indeterminateApplied}, each at most once)`,
    `  conflicts ${r.conflicts} (RecordModifiedError), retryable database errors ${r.retryable}, retries ${r.retries}`,
    `  ${r.seconds.toFixed(2)} s, ${r.throughput.toFixed(0)} increments/s`,
  ];
  const classes = Object.entries(r.failuresByClass).sort((a, b) => b[1] - a[1]);
  if (o.faults || classes.length > 0) lines.push(`  typed failures: ${classes.length === 0 ? 'none' : classes.map(([name, n]) => `${name} ${n}`).join(', ')}`);
  for (const f of r.faults) {
    const recovery = o.dialect === 'sqlite' ? `next save ${ms(f.firstAckMs)} after the kill` : `database back after ${ms(f.downMs)}, first save ${ms(f.firstAckMs)} later (${ms(f.recoveryMs)} after the fault)`;
    lines.push(
      `  fault ${f.n}: ${f.what}; ${recovery}; ` +
        `${f.rateBefore.toFixed(0)}/s before, ${f.rateAfter.toFixed(0)}/s after; ${f.failures} typed failure(s), ${f.failuresAfterUp} after it answered`,
    );
    if (f.back?.note !== undefined) lines.push(`           ${f.back.note}`);
    const d = f.whileDown;
    if (d !== undefined) {
      lines.push(
        o.topology?.name === 'galera'
          ? `           while it was down: ${d.acks} saves acknowledged by the other nodes (none for ${d.longestStallMs} ms at most); ${d.movedOff} process(es) moved off it, ${d.movedAndSaved} of them saving again before it was back`
          : `           while it was down: ${d.failedWrites} write(s) failed typed, ${d.replicaReads} read(s) served by the replica, ${d.acks} saves acknowledged`,
      );
    }
  }
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
        ? `  no lost update: every check holds${o.faults ? ` through ${r.faults.length} fault(s)` : ''}`
        : `  LOST UPDATES OR ANOMALIES: ${r.lostUpdates} lost update(s)`,
  );
  return lines.join('\n');
}

/** Whether a run is a pass: all checks hold, or, for the self-test, the checker caught lost updates. */
export function passed(r: StressReport): boolean {
  if (r.errors.length > 0) return false;
  return r.options.selfTest ? r.lostUpdates > 0 && !r.ok : r.ok;
}
