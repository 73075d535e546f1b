import * as path from 'node:path';
import { startDaemon } from '../cluster/daemon';
import { pgRows, waitUntil } from '../cluster/probe';
import { alive, killTree, stopTree } from '../cluster/process-tree';
import { replicaSetServerArgs } from '../cluster/replica-set';
import { postgresBin } from '../cluster/server-binaries';
import type { FaultTarget, MemberBack, StruckMember } from './fault-injector';

/**
 * The faults of a private replica set (see private-cluster.ts): each strikes
 * the primary, whose `start()` waits until it answers, then until the
 * replica streams from it again.
 */
export class PrimaryFaults implements FaultTarget {
  readonly #dir: string;
  readonly #port: number;
  readonly #pids: number[];
  readonly #settings: readonly string[];
  readonly url: string;
  readonly next: StruckMember;

  /** `settings`: the set's own server settings, which a restart must keep. */
  constructor(dir: string, port: number, pids: number[], url: string, settings: readonly string[]) {
    this.#dir = path.join(dir, 'primary');
    this.#port = port;
    this.#pids = pids;
    this.url = url;
    this.#settings = settings;
    this.next = { name: 'the PostgreSQL primary', port, clientsOn: true };
  }

  async kill(): Promise<void> {
    await killTree(this.#pids[0]!);
  }

  // SIGINT: fast shutdown (sessions get 57P01, WAL goes to the replica, a checkpoint). SIGQUIT: immediate (crash recovery at the next start).
  async stop(mode: 'clean' | 'immediate'): Promise<void> {
    await stopTree(this.#pids[0]!, mode === 'clean' ? 'SIGINT' : 'SIGQUIT');
  }

  async start(): Promise<MemberBack> {
    const pid = startDaemon(path.join(postgresBin()!, 'postgres'), replicaSetServerArgs(this.#dir, this.#port, this.#settings), {
      user: 'postgres',
      logFile: path.join(this.#dir, 'server.log'),
    });
    this.#pids[0] = pid;
    const t0 = Date.now();
    await waitUntil('the PostgreSQL primary', async () => (await pgRows(this.#port, 'SELECT 1')).length === 1, { timeoutMs: 120_000, stillRunning: () => alive(pid) });
    const upAt = Date.now();
    // The replica serves reads all along; until it streams again they do not see new writes.
    await waitUntil(
      'the replica streaming again',
      async () => Number((await pgRows(this.#port, "SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'"))[0]?.n) > 0,
      { timeoutMs: 60_000 },
    );
    return { upAt, note: `primary answered ${upAt - t0} ms after its start, the replica streaming again ${Date.now() - upAt} ms later` };
  }
}
