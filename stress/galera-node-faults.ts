import * as fs from 'node:fs';
import * as path from 'node:path';
import { restartGaleraNode, waitGaleraSynced, type GaleraNode } from '../cluster/galera-cluster';
import { mysqlRows } from '../cluster/probe';
import { alive, killTree, stopTree } from '../cluster/process-tree';
import type { FaultTarget, MemberBack, StruckMember } from './fault-injector';

/** How many times a restarted node whose state transfer failed is started again. */
const MAX_FAILED_TRANSFERS = 2;

/**
 * The faults of a private Galera cluster (see private-cluster.ts): each
 * strikes one node, node 1 first, then the next, and its `start()` has the
 * node rejoin and waits until every node is Synced.
 */
export class GaleraNodeFaults implements FaultTarget {
  readonly #nodes: readonly GaleraNode[];
  readonly #pids: number[];
  readonly url: string;
  #next = 0;
  #down: number | undefined;

  constructor(nodes: readonly GaleraNode[], pids: number[], url: string) {
    this.#nodes = nodes;
    this.#pids = pids;
    this.url = url;
  }

  get next(): StruckMember {
    const node = this.#nodes[this.#next]!;
    // Node 1's clients moved to node 2 at the first fault, node 2's to node 3 at the next: each struck node has clients.
    return { name: `Galera node ${node.index}`, port: node.sql, clientsOn: true };
  }

  async kill(): Promise<void> {
    await killTree(this.#pids[this.#strike()]!);
  }

  async stop(mode: 'clean' | 'immediate'): Promise<void> {
    const i = this.#strike();
    // Immediate: InnoDB skips its flush and merge (the next start runs crash recovery); Galera still leaves the group in order.
    if (mode === 'immediate') await mysqlRows(this.#nodes[i]!.sql, 'SET GLOBAL innodb_fast_shutdown = 2').catch(() => undefined);
    await stopTree(this.#pids[i]!, 'SIGTERM');
  }

  async start(): Promise<MemberBack> {
    const i = this.#down;
    if (i === undefined) throw new Error('no Galera node is down');
    const node = this.#nodes[i]!;
    const log = path.join(node.dir, 'server.log');
    const from = fs.statSync(log).size;
    const t0 = Date.now();
    // A joiner whose state transfer fails exits ("Will never receive state.
    // Need to abort": the donor's rsync failed, as it can on a loaded
    // machine); as an operator would, it is started again, twice at most.
    let failedTransfers = 0;
    let startPosition: string | undefined;
    for (;;) {
      const started = await restartGaleraNode(node, this.#nodes);
      this.#pids[i] = started.pid;
      startPosition = started.startPosition;
      try {
        await waitGaleraSynced(node, started.pid, this.#nodes.length);
        break;
      } catch (err) {
        if (alive(started.pid) || ++failedTransfers > MAX_FAILED_TRANSFERS) throw err;
      }
    }
    const rejoinMs = Date.now() - t0;
    // Back means the whole cluster again: the donor, too, has caught up with what it queued while it donated.
    await Promise.all(this.#nodes.map((n, j) => (j === i ? undefined : waitGaleraSynced(n, this.#pids[j]!, this.#nodes.length))));
    this.#down = undefined;
    this.#next = (i + 1) % this.#nodes.length;
    const recovered = startPosition === undefined ? '' : ` from the position --wsrep-recover found (seqno ${startPosition.split(':')[1]})`;
    const retried = failedTransfers === 0 ? '' : `, started again after ${failedTransfers} failed state transfer(s)`;
    return { rejoinMs, note: `node ${node.index} ${transferIn(log, from)}${recovered}${retried}, Synced ${rejoinMs} ms after its start` };
  }

  #strike(): number {
    this.#down = this.#next;
    return this.#next;
  }
}

/** How a restarted Galera node caught up, from its log since `from` (bytes). */
function transferIn(logFile: string, from: number): string {
  const fd = fs.openSync(logFile, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(Math.max(0, size - from));
    fs.readSync(fd, buf, 0, buf.length, from);
    const text = buf.toString('utf8');
    // With rsync, MariaDB runs its SST script either way: for an IST it only hands over the position ("rsync IST completed").
    const ist = /Receiving IST: (\d+) writesets/.exec(text);
    if (/rsync SST completed on joiner/.test(text)) return 'rejoined by a full state transfer (SST)';
    if (ist !== null) return `rejoined by an incremental state transfer (IST, ${ist[1]} write sets)`;
    return 'rejoined';
  } finally {
    fs.closeSync(fd);
  }
}
