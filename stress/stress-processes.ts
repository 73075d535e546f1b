import { ChildProcess, fork } from 'node:child_process';
import * as path from 'node:path';
import type { Ack } from './check-history';
import type { FailureEvent, WorkerMessage, WorkerResult, WorkerTask } from './stress-worker';

const WORKER = path.join(__dirname, 'stress-worker.js');

/** What the processes told the parent, as it streamed in. */
export interface StreamedHistory {
  readonly acks: Ack[];
  /** When each ack arrived (epoch ms), in the order of `acks`. */
  readonly ackTimes: number[];
  /** Increments whose outcome is unknown: reported so by a worker, or in flight in a process that was killed. */
  readonly indeterminate: Set<string>;
  readonly failures: FailureEvent[];
  /** When a read was served outside a transaction (replica sets under faults only). */
  readonly reads: number[];
  /** Processes moving from one node to the next (`from` and `to` are SQL ports). */
  readonly failovers: Failover[];
  /** Results of the processes that ran to the end. */
  readonly results: WorkerResult[];
  /** Processes that died on their own or failed: fails the run. */
  readonly errors: string[];
}

export interface Failover {
  readonly process: number;
  readonly from: number;
  readonly to: number;
  readonly at: number;
}

interface Child {
  readonly id: number;
  readonly process: ChildProcess;
  /** Intents not yet acknowledged nor given up as unknown. */
  readonly inFlight: Set<string>;
  killed: boolean;
  onIntent?: () => void;
  onCommitting?: () => void;
  readonly exited: Promise<void>;
}

/**
 * The stress processes of one run: forks them, collects what they stream,
 * kills one with SIGKILL on request (right after it announced a write, so
 * the kill lands while that write or its transaction is in flight) and
 * forks its replacement.
 */
export class StressProcesses {
  readonly history: StreamedHistory = { acks: [], ackTimes: [], indeterminate: new Set(), failures: [], reads: [], failovers: [], results: [], errors: [] };
  readonly #task: Omit<WorkerTask, 'process'>;
  readonly #children = new Map<number, Child>();
  #next = 0;
  /** Processes killed on purpose. */
  kills = 0;

  constructor(task: Omit<WorkerTask, 'process'>) {
    this.#task = task;
  }

  /** Forks `n` processes, waits until each is connected, then lets them all go at once. */
  async start(n: number): Promise<void> {
    const ready = await Promise.all(Array.from({ length: n }, () => this.#fork()));
    ready.forEach((go) => go());
  }

  /** Forks one more process and lets it go as soon as it is connected. */
  async add(): Promise<void> {
    (await this.#fork())();
  }

  /**
   * Kills a random running process with SIGKILL: `at: 'write'` as soon as
   * it announces its next write (the kill lands before the write or inside
   * its transaction); `at: 'commit'`, `delayMs` after one of its
   * transactions announces its COMMIT (it may land after the COMMIT but
   * before the acknowledgement: an applied write of unknown outcome).
   * Returns the increments it had in flight.
   */
  async killOne(at: 'write' | 'commit' = 'write', delayMs = 0): Promise<{ process: number; inFlight: string[] }> {
    const live = [...this.#children.values()].filter((c) => !c.killed);
    const victim = live[Math.floor(Math.random() * live.length)]!;
    // A process that announces nothing for a while (waiting on a lock) is killed anyway.
    await new Promise<void>((resolve) => {
      if (at === 'write') victim.onIntent = resolve;
      else victim.onCommitting = resolve;
      setTimeout(resolve, 5000);
    });
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    victim.killed = true;
    victim.process.kill('SIGKILL');
    await victim.exited;
    this.kills++;
    const inFlight = [...victim.inFlight];
    for (const token of inFlight) this.history.indeterminate.add(token);
    return { process: victim.id, inFlight };
  }

  /** Tells every process to finish its current increment and stop (fault runs). */
  stop(): void {
    for (const c of this.#children.values()) if (!c.killed && c.process.connected) c.process.send('stop');
  }

  /** Resolves once every process has exited. */
  async finished(): Promise<StreamedHistory> {
    await Promise.all([...this.#children.values()].map((c) => c.exited));
    return this.history;
  }

  #fork(): Promise<() => void> {
    const id = this.#next++;
    const task: WorkerTask = { ...this.#task, process: id };
    const child = fork(WORKER, [JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let done = false;
    const c: Child = {
      id,
      process: child,
      inFlight: new Set(),
      killed: false,
      // 'close' comes after the IPC channel has delivered every message.
      exited: new Promise((resolve) => child.once('close', () => resolve())),
    };
    this.#children.set(id, c);
    return new Promise((ready, failed) => {
      child.on('message', (m: WorkerMessage) => {
        switch (m.type) {
          case 'ready':
            ready(() => child.send('go'));
            break;
          case 'intent':
            c.inFlight.add(m.token);
            c.onIntent?.();
            c.onIntent = undefined;
            break;
          case 'committing':
            c.onCommitting?.();
            c.onCommitting = undefined;
            break;
          case 'ack':
            c.inFlight.delete(m.ack.token);
            this.history.acks.push(m.ack);
            this.history.ackTimes.push(m.at);
            break;
          case 'unknown':
            c.inFlight.delete(m.token);
            this.history.indeterminate.add(m.token);
            break;
          case 'failure':
            this.history.failures.push(m.failure);
            break;
          case 'read':
            this.history.reads.push(m.at);
            break;
          case 'failover':
            this.history.failovers.push({ process: id, from: m.from, to: m.to, at: m.at });
            break;
          case 'done':
            done = true;
            // Increments still announced were given up with nothing written (conflicts, or the give-up time).
            c.inFlight.clear();
            this.history.results.push(m.result);
            break;
          case 'error':
            this.history.errors.push(`stress process ${id} failed: ${m.message}`);
            failed(new Error(`stress process ${id} failed: ${m.message}`));
            break;
        }
      });
      child.once('close', (code, signal) => {
        if (!done && !c.killed) {
          const why = `stress process ${id} exited with ${code ?? signal} before it finished`;
          this.history.errors.push(why);
          failed(new Error(why));
        }
      });
    });
  }
}
