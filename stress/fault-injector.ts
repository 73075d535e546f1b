import type { StressProcesses } from './stress-processes';

/** The member of a cluster a fault strikes: its name for the report, and its SQL port (to tell which clients were on it). */
export interface StruckMember {
  readonly name: string;
  readonly port: number;
  /** Whether clients are on it when it is struck (a cut-off Galera node only the first time: its clients then moved on for good). */
  readonly clientsOn: boolean;
}

/** What `start()` found, beyond the database answering again. */
export interface MemberBack {
  /** When the member answered again, if before `start()` resolved (it went on to wait for a replica, say). */
  readonly upAt?: number;
  /** How long the member took from its start to rejoining its cluster (a Galera node: Synced again). */
  readonly rejoinMs?: number;
  /** How it came back, for the report (a state transfer, a replica streaming again). */
  readonly note?: string;
}

/**
 * What a fault strikes: a private server (private-server.ts), one member
 * of a private cluster (private-cluster.ts), or one member of a cluster
 * cut off (member-cut.ts).
 */
export interface FaultTarget {
  readonly url: string;
  kill(): Promise<void>;
  stop(mode: 'clean' | 'immediate'): Promise<void>;
  start(): Promise<void | MemberBack>;
  /** What `stop()` then `start()` does, for the report; a server's shutdown and start by default. */
  readonly refuseText?: string;
  /** The member the next fault strikes, when the target is a cluster. */
  readonly next?: StruckMember;
}

/**
 * `restart`: the server shuts down and starts again, alternately clean
 * (PostgreSQL's fast shutdown, MariaDB's normal one) and immediate (no
 * checkpoint: crash recovery at start). `kill`: SIGKILL to the server and
 * all its processes, then a start (crash recovery); on SQLite, SIGKILL to a
 * writer process in the middle of its transaction, and a new process in its
 * place. `refuse`: the server stays down for a while, so every connection
 * attempt is refused, then starts again.
 */
export type FaultMode = 'restart' | 'kill' | 'refuse';

export const FAULT_MODES: readonly FaultMode[] = ['restart', 'kill', 'refuse'];

export interface FaultPlan {
  readonly mode: FaultMode;
  readonly count: number;
  /** Steady load before the first fault, and after each recovery before the next (so throughput can be compared). */
  readonly settleMs: number;
  /** How long the server stays down for `refuse`, and a cluster member for every fault. */
  readonly downMs: number;
}

/** One injected fault and when things happened (epoch milliseconds). */
export interface FaultRecord {
  readonly n: number;
  readonly what: string;
  /** When the fault was injected. */
  readonly at: number;
  /** When the database answered again (SQLite: the kill itself; the database never went away). */
  readonly upAt: number;
  /** SQLite writer kills: the increment the killed process had in flight. */
  readonly inFlight?: readonly string[];
  /** The cluster member struck. */
  readonly member?: StruckMember;
  /** What `start()` reported (a Galera node's rejoin time, the replica streaming again). */
  readonly back?: MemberBack;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Injects `plan.count` faults into a running stress run, `settleMs` apart,
 * and returns what it did and when. With a `server`, the faults strike the
 * server; without one (SQLite), they kill writer processes.
 */
export async function injectFaults(plan: FaultPlan, server: FaultTarget | undefined, processes: StressProcesses): Promise<FaultRecord[]> {
  const records: FaultRecord[] = [];
  await sleep(plan.settleMs);
  for (let n = 1; n <= plan.count; n++) {
    const at = Date.now();
    let what: string;
    let inFlight: readonly string[] | undefined;
    if (server === undefined) {
      if (plan.mode !== 'kill') throw new Error(`--faults ${plan.mode} needs a database server; SQLite takes --faults kill (writer processes killed mid-transaction)`);
      // Odd faults strike at a write; even ones around a COMMIT, which may land unacknowledged.
      const moment = n % 2 === 1 ? 'write' : 'commit';
      const delayMs = moment === 'write' ? 0 : Math.random() * 5;
      const killed = await processes.killOne(moment, delayMs);
      const when = moment === 'write' ? 'as it wrote' : `${delayMs.toFixed(1)} ms after a transaction of it began its COMMIT`;
      what = `SIGKILL of writer process ${killed.process} ${when}${killed.inFlight.length > 0 ? `, with ${killed.inFlight.join(', ')} in flight` : ''}`;
      inFlight = killed.inFlight;
      records.push({ n, what, at, upAt: at, inFlight });
      await processes.add();
    } else {
      const member = server.next;
      const of = member === undefined ? 'the server' : member.name;
      // A cluster member stays down a while (as until a supervisor restarts it), so the rest of the cluster is seen serving without it.
      const pause = member !== undefined && plan.mode !== 'refuse' ? plan.downMs : 0;
      const then = pause > 0 ? `, down ${pause} ms, then a start` : ', then a start';
      if (plan.mode === 'kill') {
        what = `SIGKILL of ${of} and its processes${then} (crash recovery)`;
        await server.kill();
      } else if (plan.mode === 'refuse') {
        what = server.refuseText === undefined ? `clean shutdown, ${plan.downMs} ms of refused connections, then a start` : `${server.refuseText} for ${plan.downMs} ms`;
        await server.stop('clean');
        await sleep(plan.downMs);
      } else {
        const mode = n % 2 === 1 ? 'clean' : 'immediate';
        what = `${mode} shutdown${member === undefined ? '' : ` of ${of}`}${then}${mode === 'immediate' ? ' (crash recovery)' : ''}`;
        await server.stop(mode);
      }
      await sleep(pause);
      const back = (await server.start()) ?? undefined;
      records.push({ n, what, at, upAt: back?.upAt ?? Date.now(), ...(member === undefined ? {} : { member }), ...(back === undefined ? {} : { back }) });
    }
    await sleep(plan.settleMs);
  }
  return records;
}
