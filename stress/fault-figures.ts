import type { Check } from './check-history';
import type { FaultRecord } from './fault-injector';
import type { WhileDown } from './member-fault-figures';
import type { FailureEvent } from './stress-worker';

/** How the run fared around one fault. */
export interface FaultFigures extends FaultRecord {
  /** From the injection until the database answered again (ms). */
  readonly downMs: number;
  /** From the database answering again to the first acknowledged increment (ms); `null` if none came. */
  readonly firstAckMs: number | null;
  /** From the injection to the first acknowledged increment after the database answered again (ms). */
  readonly recoveryMs: number | null;
  /** Acknowledged increments per second in the steady window before the fault. */
  readonly rateBefore: number;
  /** The same, in a window of the same length once the database answered again. */
  readonly rateAfter: number;
  /** Typed failures between the injection and the next fault (or the end). */
  readonly failures: number;
  /** Of those, attempts that started after the database answered again. */
  readonly failuresAfterUp: number;
  /** A cluster member's fault: what the rest of the cluster did meanwhile. */
  readonly whileDown?: WhileDown;
}

/** Throughput after a fault must be back to at least this share of the rate before it (the machine is shared and noisy). */
export const THROUGHPUT_BACK = 0.3;

/**
 * Grace after the database answers again: attempts that were already
 * waiting on a connection (a connect started before the probe succeeded)
 * may still fail.
 */
const GRACE_MS = 50;

function countIn(times: readonly number[], from: number, to: number): number {
  let n = 0;
  for (const t of times) if (t >= from && t < to) n++;
  return n;
}

/** The figures of each fault, from the faults' timeline, the acks' arrival times and the failures the workers met. */
export function faultFigures(faults: readonly FaultRecord[], ackTimes: readonly number[], failures: readonly FailureEvent[], settleMs: number, end: number): FaultFigures[] {
  const sorted = [...ackTimes].sort((a, b) => a - b);
  return faults.map((f, i) => {
    const next = faults[i + 1]?.at ?? end;
    const firstAck = sorted.find((t) => t >= f.upAt);
    const windowMs = Math.max(1, Math.min(settleMs, next - f.upAt));
    const prevUp = i === 0 ? Number.NEGATIVE_INFINITY : faults[i - 1]!.upAt;
    const beforeFrom = Math.max(f.at - windowMs, prevUp);
    const after = failures.filter((e) => e.at >= f.at && e.at < next);
    return {
      ...f,
      downMs: f.upAt - f.at,
      firstAckMs: firstAck === undefined ? null : firstAck - f.upAt,
      recoveryMs: firstAck === undefined ? null : firstAck - f.at,
      rateBefore: (countIn(sorted, beforeFrom, f.at) * 1000) / Math.max(1, f.at - beforeFrom),
      rateAfter: (countIn(sorted, f.upAt, f.upAt + windowMs) * 1000) / windowMs,
      failures: after.length,
      failuresAfterUp: after.filter((e) => e.started >= f.upAt + GRACE_MS).length,
    };
  });
}

/** The checks fault injection adds to the history checks. */
export function faultChecks(figures: readonly FaultFigures[], planned: number): Check[] {
  const check = (name: string, bad: FaultFigures[], example: (f: FaultFigures) => string): Check => ({
    name,
    ok: bad.length === 0,
    violations: bad.length,
    examples: bad.slice(0, 5).map(example),
  });
  return [
    {
      name: `every planned fault was injected (${planned})`,
      ok: figures.length === planned,
      violations: Math.abs(planned - figures.length),
      examples: figures.length === planned ? [] : [`${figures.length} of ${planned} injected`],
    },
    check(
      `throughput back after each fault (at least ${THROUGHPUT_BACK * 100}% of the rate before it)`,
      figures.filter((f) => f.firstAckMs === null || f.rateAfter < THROUGHPUT_BACK * f.rateBefore),
      (f) => `fault ${f.n}: ${f.rateBefore.toFixed(0)}/s before, ${f.rateAfter.toFixed(0)}/s after`,
    ),
    check(
      'every attempt started after the database answered again succeeded (no dead connection was lent)',
      figures.filter((f) => f.failuresAfterUp > 0),
      (f) => `fault ${f.n}: ${f.failuresAfterUp} attempt(s) started after the database answered failed`,
    ),
  ];
}
