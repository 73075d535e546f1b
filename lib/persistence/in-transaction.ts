import type { Database } from '../database';
import { runTransaction } from '../transactions/run-transaction';
import type { Session } from '../transactions/session';

/**
 * Runs `fn` in a transaction of its own: a new one on the pool, or a
 * savepoint inside the session's transaction (`savepoint`), or, without
 * `savepoint`, directly in the session's transaction. The savepoint belongs
 * to a call its transaction already admitted, so it opens even while that
 * transaction is draining. A failed COMMIT is reported like any other.
 */
export function inTransaction<T>(db: Database, session: Session, savepoint: boolean, fn: (session: Session) => Promise<T>): Promise<T> {
  if (session.frame !== undefined && !savepoint) return fn(session);
  return runTransaction(
    db,
    async () => {
      const inner = db.session('a save');
      try {
        return await fn(inner);
      } finally {
        inner.end();
      }
    },
    undefined,
    session.frame !== undefined,
  );
}
