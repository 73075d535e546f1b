import type { Member } from './member';

/**
 * Which server a routed pool asks for a connection (see `routePool`): the
 * members to try, best first, and what to do when one cannot give a
 * connection.
 */
export interface RoutePolicy {
  /** The members to try for one connection, in order. */
  candidates(): readonly Member[];
  /**
   * `member` could not give a connection (nothing was sent). Returns the
   * member the policy now prefers when that changed, for a message.
   */
  unreachable(member: Member): Member | undefined;
}
