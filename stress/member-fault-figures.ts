import type { Check } from './check-history';
import type { FaultRecord } from './fault-injector';
import type { StreamedHistory } from './stress-processes';

/**
 * What the rest of a cluster did while one member was down (from the fault
 * to the member answering again): the figures that show a cluster's
 * promise held, beyond the history checks.
 */
export interface WhileDown {
  /** Saves acknowledged meanwhile: Galera's other nodes kept serving. */
  readonly acks: number;
  /**
   * The longest time without an acknowledged save meanwhile (ms): after a
   * crash, Galera's other nodes hold every commit until they have evicted
   * the silent node (evs.suspect_timeout, 5 s by default).
   */
  readonly longestStallMs: number;
  /** Processes that moved off the struck node (Galera), and how many of them had a save acknowledged after they moved. */
  readonly movedOff: number;
  readonly movedAndSaved: number;
  /** Reads served outside transactions, from the replica (replica sets). */
  readonly replicaReads: number;
  /** Typed failures the writes met (replica sets: the primary is gone). */
  readonly failedWrites: number;
}

// Failures of attempts a moment after the member answered again still belong to its outage.
const GRACE_MS = 50;

/** The process a token belongs to: tokens are `process.worker.n`. */
const processOf = (token: string): number => Number(token.split('.')[0]);

/** The figures of each fault that struck a cluster member (`undefined` for the others). */
export function whileDown(faults: readonly FaultRecord[], history: StreamedHistory): (WhileDown | undefined)[] {
  return faults.map((f) => {
    if (f.member === undefined) return undefined;
    const inside = (t: number): boolean => t >= f.at && t <= f.upAt;
    const ackTimes = history.acks.map((a, i) => ({ process: processOf(a.token), at: history.ackTimes[i]! }));
    const moves = history.failovers.filter((m) => m.from === f.member!.port && inside(m.at));
    const moved = new Map<number, number>();
    for (const m of moves) if (!moved.has(m.process)) moved.set(m.process, m.at);
    const saved = [...moved].filter(([p, t]) => ackTimes.some((a) => a.process === p && a.at > t && a.at <= f.upAt));
    const during = [f.at, ...ackTimes.map((a) => a.at).filter(inside), f.upAt].sort((a, b) => a - b);
    return {
      acks: during.length - 2,
      longestStallMs: Math.max(...during.slice(1).map((t, i) => t - during[i]!)),
      movedOff: moved.size,
      movedAndSaved: saved.length,
      replicaReads: history.reads.filter(inside).length,
      failedWrites: history.failures.filter((e) => e.at >= f.at && e.at <= f.upAt + GRACE_MS).length,
    };
  });
}

/** The checks a cluster's faults add: Galera's other nodes kept serving and its clients failed over; a replica set's writes failed typed while its replica served reads. */
export function memberChecks(topology: 'galera' | 'replicas', faults: readonly FaultRecord[], figures: readonly (WhileDown | undefined)[]): Check[] {
  const check = (name: string, bad: (f: FaultRecord, d: WhileDown) => string | undefined): Check => {
    const examples: string[] = [];
    faults.forEach((f, i) => {
      const d = figures[i];
      const why = d === undefined ? undefined : bad(f, d);
      if (why !== undefined) examples.push(`fault ${f.n} (${f.member!.name}): ${why}`);
    });
    return { name, ok: examples.length === 0, violations: examples.length, examples: examples.slice(0, 5) };
  };
  if (topology === 'galera') {
    return [
      check('the other nodes kept serving while the struck one was down (saves acknowledged during every fault)', (_f, d) => (d.acks > 0 ? undefined : 'no save acknowledged while it was down')),
      check('the processes on the struck node failed over and kept saving before it was back', (f, d) => {
        if (d.movedOff === 0 && f.member!.clientsOn) return 'no process moved off it';
        return d.movedAndSaved < d.movedOff ? `${d.movedOff - d.movedAndSaved} of ${d.movedOff} process(es) that moved off saved nothing before it was back` : undefined;
      }),
    ];
  }
  return [
    check('writes failed typed while the primary was down', (_f, d) => (d.failedWrites > 0 ? undefined : 'no write failed: the fault did not strike')),
    check('the replica served reads while the primary was down', (_f, d) => (d.replicaReads > 0 ? undefined : 'no read served')),
  ];
}
