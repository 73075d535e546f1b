import type { Knex } from 'knex';
import { idleHandleOf } from './dialects/idle-handle';

interface TarnPool {
  on(event: 'acquireSuccess', listener: (eventId: number, resource: object) => void): void;
  on(event: 'release' | 'createSuccess', listener: (...args: never[]) => void): void;
  /** tarn's reaping timer, while the pool holds connections. */
  interval?: { unref?(): void } | null;
}

/**
 * Lets a process end when its work is done although `db.close()` was never
 * called, as a script often forgets to (it used to hang forever, with no
 * hint): the pool's idle connections and its reaping timer stop holding the
 * event loop. A connection lent out (a statement, a transaction, a save in
 * flight, awaited or not) holds it as before, so the process ends only after
 * every write has landed; an idle connection is closed by the process exit,
 * as the server sees a client go away.
 *
 * Only for a Knex instance `connect()` built; a Knex instance you pass in
 * stays as you configured it.
 */
export function letIdlePoolExit(knex: Knex): void {
  const pool = (knex.client as { pool?: TarnPool }).pool;
  if (pool === undefined || typeof pool.on !== 'function') return;
  pool.on('createSuccess', (_eventId: number, connection: object) => idleHandleOf(connection)?.unref());
  pool.on('acquireSuccess', (_eventId, connection) => {
    idleHandleOf(connection)?.ref();
    // Started (again) by the acquire that resolved here; unref() is idempotent.
    pool.interval?.unref?.();
  });
  pool.on('release', (connection: object) => idleHandleOf(connection)?.unref());
}
