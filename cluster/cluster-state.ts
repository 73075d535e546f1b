/**
 * What `up` started, written beside the data directories so that `down`
 * (a later command) stops exactly those processes, and a second `up` finds
 * a running cluster instead of starting another.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterKind } from './cluster-config';
import { alive } from './process-tree';

export interface ClusterState {
  readonly kind: ClusterKind;
  /** Server pids, in start order. */
  readonly pids: readonly number[];
  /** The lines `up` prints: `NAME=value`. */
  readonly env: Readonly<Record<string, string>>;
  /** The cluster's directory (removed by `down`). */
  readonly dir: string;
}

function stateFile(dir: string): string {
  return path.join(dir, 'state.json');
}

export function readState(dir: string): ClusterState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(dir), 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

export function writeState(state: ClusterState): void {
  fs.writeFileSync(stateFile(state.dir), `${JSON.stringify(state, null, 2)}\n`);
}

/** Whether every server of the state is still running. */
export function stateAlive(state: ClusterState): boolean {
  return state.pids.length > 0 && state.pids.every(alive);
}

/** Pids of servers under `dir` from their pid files (a failed `up` has no state file yet). */
export function pidsUnder(dir: string): number[] {
  const out: number[] = [];
  const walk = (d: string): void => {
    for (const e of fs.existsSync(d) ? fs.readdirSync(d, { withFileTypes: true }) : []) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name === 'mysqld.pid' || e.name === 'postmaster.pid') {
        const pid = Number(fs.readFileSync(p, 'utf8').split('\n')[0]);
        if (Number.isInteger(pid) && pid > 0) out.push(pid);
      }
    }
  };
  walk(dir);
  return out;
}
