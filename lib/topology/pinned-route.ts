import type { Member } from './member';
import type { RoutePolicy } from './route-policy';

/**
 * Every connection from one server, the first of the list that answered;
 * when it cannot give a connection, the next one in the list, for good (it
 * does not move back when the first returns; it moves on again only when
 * its current server fails).
 *
 * Why pinned rather than spread, on a multi-primary cluster: a Database's
 * own writes then never race each other on two nodes (where they would
 * conflict at COMMIT instead of waiting for a row lock), and a read sees
 * the writes this Database committed before it, since a node applies its
 * own commits before it acknowledges them. Spreading load is done by
 * listing the nodes in a different order in each application instance.
 */
export class PinnedRoute implements RoutePolicy {
  readonly #members: readonly Member[];
  #pinned = 0;

  constructor(members: readonly Member[]) {
    this.#members = members;
  }

  /** The server connections come from now. */
  get pinned(): Member {
    return this.#members[this.#pinned]!;
  }

  candidates(): readonly Member[] {
    const n = this.#members.length;
    return Array.from({ length: n }, (_, i) => this.#members[(this.#pinned + i) % n]!);
  }

  unreachable(member: Member): Member | undefined {
    // Several calls may find the same server down at once: move on only from the one that failed.
    if (this.pinned !== member || this.#members.length === 1) return undefined;
    this.#pinned = (this.#pinned + 1) % this.#members.length;
    return this.pinned;
  }
}
