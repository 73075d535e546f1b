import type { Member } from './member';
import type { RoutePolicy } from './route-policy';

/** How long a replica that could not give a connection is left out before it is tried again. */
const REST_MS = 1000;

/**
 * Reads spread over the replicas in turn. A replica that cannot give a
 * connection is left out for a second (so reads do not each wait for it to
 * refuse), and when none can, the fallback (the primary) serves: a read
 * from the primary is never staler than one from a replica.
 */
export class SpreadRoute implements RoutePolicy {
  readonly #replicas: readonly Member[];
  readonly #fallback: Member | undefined;
  readonly #restingUntil = new Map<Member, number>();
  #next = 0;

  constructor(replicas: readonly Member[], fallback: Member | undefined) {
    this.#replicas = replicas;
    this.#fallback = fallback;
  }

  candidates(): readonly Member[] {
    const now = Date.now();
    const n = this.#replicas.length;
    const start = this.#next++ % n;
    const turn = Array.from({ length: n }, (_, i) => this.#replicas[(start + i) % n]!);
    const up = turn.filter((m) => (this.#restingUntil.get(m) ?? 0) <= now);
    const resting = turn.filter((m) => !up.includes(m));
    // Without a primary to fall back on, a resting replica is still better than nothing.
    return this.#fallback === undefined ? [...up, ...resting] : [...up, this.#fallback];
  }

  unreachable(member: Member): Member | undefined {
    if (member === this.#fallback) return undefined;
    const wasUp = (this.#restingUntil.get(member) ?? 0) <= Date.now();
    this.#restingUntil.set(member, Date.now() + REST_MS);
    return wasUp ? (this.candidates()[0] ?? this.#fallback) : undefined;
  }
}
