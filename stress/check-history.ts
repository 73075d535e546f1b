/**
 * The checker: given what the clients were told (acknowledged increments,
 * each with the version it read and the version it wrote) and what the
 * database holds at the end, finds lost updates the way Jepsen's Elle does
 * for a list-append workload. Every increment also appends a unique token
 * to the row's log in the same write, so an overwritten update leaves a
 * trace: its token is missing.
 */

/** One acknowledged increment: `save()` resolved. */
export interface Ack {
  readonly row: number;
  readonly token: string;
  /** The version the instance held when it saved (what the compare-and-swap checked). */
  readonly from: number;
  /** The version the save wrote. */
  readonly to: number;
}

export interface RowState {
  readonly value: number;
  readonly version: number;
  readonly log: string;
}

export interface CheckInput {
  readonly countsSaves: boolean;
  readonly initial: ReadonlyMap<number, RowState>;
  readonly final: ReadonlyMap<number, RowState>;
  readonly acks: readonly Ack[];
  /** Tokens of increments whose outcome is unknown (a connection lost at COMMIT or under an autocommit write, a process killed mid-write). */
  readonly indeterminate: ReadonlySet<string>;
}

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  /** Violations found (0 when ok). */
  readonly violations: number;
  /** A few examples, for the report. */
  readonly examples: readonly string[];
}

export interface CheckResult {
  readonly checks: readonly Check[];
  /** Acknowledged increments whose effect is not in the final state. */
  readonly lostUpdates: number;
  readonly ok: boolean;
}

class Tally {
  violations = 0;
  readonly examples: string[] = [];
  constructor(readonly name: string) {}
  add(n: number, example: string): void {
    if (n <= 0) return;
    this.violations += n;
    if (this.examples.length < 5) this.examples.push(example);
  }
  done(): Check {
    return { name: this.name, ok: this.violations === 0, violations: this.violations, examples: this.examples };
  }
}

export function checkHistory(input: CheckInput): CheckResult {
  const counter = new Tally('final counter = initial + acknowledged increments');
  const versionCount = new Tally('version advanced by exactly the number of saves');
  const sameFrom = new Tally('no two acknowledged saves started from the same version');
  const chain = new Tally('versions form one chain: distinct, increasing, each save starting where the previous ended');
  const tokens = new Tally('every acknowledged token is in the log exactly once, in version order');
  const phantoms = new Tally('no token in the log that was never acknowledged');
  const unknownOnce = new Tally('every increment of unknown outcome applied at most once');
  let lostUpdates = 0;

  const byRow = new Map<number, Ack[]>();
  for (const a of input.acks) (byRow.get(a.row) ?? byRow.set(a.row, []).get(a.row)!).push(a);

  for (const [row, start] of input.initial) {
    const end = input.final.get(row);
    if (end === undefined) throw new Error(`row ${row} is gone`);
    const acks = (byRow.get(row) ?? []).slice().sort((x, y) => x.to - y.to);
    const before = new Set(start.log.split(' '));
    const logged = end.log.split(' ').filter((t) => t !== '' && !before.has(t));
    const unknownCommitted = logged.filter((t) => input.indeterminate.has(t)).length;

    const applied = end.value - start.value;
    const lost = acks.length + unknownCommitted - applied;
    counter.add(Math.abs(lost), `row ${row}: ${acks.length} acknowledged (+${unknownCommitted} of unknown outcome), counter moved by ${applied}`);

    if (input.countsSaves) {
      const moved = end.version - start.version;
      versionCount.add(Math.abs(moved - acks.length - unknownCommitted), `row ${row}: ${acks.length} saves, version moved by ${moved}`);
    }

    const froms = new Map<number, number>();
    for (const a of acks) froms.set(a.from, (froms.get(a.from) ?? 0) + 1);
    for (const [v, n] of froms) sameFrom.add(n - 1, `row ${row}: ${n} acknowledged saves started from version ${v}`);

    // Unknown-outcome writes that landed sit somewhere in the chain; it can only be checked without them.
    if (unknownCommitted === 0) {
      let expected = start.version;
      for (const a of acks) {
        if (a.from !== expected) chain.add(1, `row ${row}: a save went ${a.from} -> ${a.to}, but the previous one left ${expected}`);
        if (!(a.to > a.from)) chain.add(1, `row ${row}: a save went ${a.from} -> ${a.to}, not upwards`);
        expected = a.to;
      }
      if (end.version !== expected) chain.add(1, `row ${row}: the last acknowledged save wrote ${expected}, the row holds ${end.version}`);
    }

    const seen = new Map<string, number>();
    for (const t of logged) seen.set(t, (seen.get(t) ?? 0) + 1);
    const order = logged.filter((t) => !input.indeterminate.has(t));
    let inOrder = order.length === acks.length;
    for (let i = 0; inOrder && i < acks.length; i++) inOrder = order[i] === acks[i]!.token;
    let missing = 0;
    for (const a of acks) {
      const n = seen.get(a.token) ?? 0;
      if (n === 0) missing++;
      else if (n > 1) tokens.add(n - 1, `row ${row}: token ${a.token} appears ${n} times`);
    }
    tokens.add(missing, `row ${row}: ${missing} acknowledged tokens missing from the log`);
    lostUpdates += Math.max(0, lost, missing);
    if (missing === 0 && !inOrder) tokens.add(1, `row ${row}: the log's order differs from the order of the versions`);
    for (const [t, n] of seen) if (n > 1 && input.indeterminate.has(t)) unknownOnce.add(n - 1, `row ${row}: token ${t} (outcome unknown) appears ${n} times`);
    const acked = new Set(acks.map((a) => a.token));
    const unknown = logged.filter((t) => !acked.has(t) && !input.indeterminate.has(t));
    phantoms.add(unknown.length, `row ${row}: never acknowledged: ${unknown.slice(0, 3).join(', ')}`);
  }

  const checks = [counter, ...(input.countsSaves ? [versionCount] : []), sameFrom, chain, tokens, phantoms, unknownOnce].map((t) => t.done());
  return { checks, lostUpdates, ok: checks.every((c) => c.ok) };
}
