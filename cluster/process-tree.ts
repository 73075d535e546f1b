/**
 * Signals and waits on server processes by pid, read from /proc, so that a
 * process started by an earlier command (`npm run cluster -- up`) can be
 * stopped by a later one (`down`).
 */
import * as fs from 'node:fs';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends `sig` to `pid`; a process already gone is not an error. */
export function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

/** Whether `pid` is a live process (a zombie counts as gone). */
export function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** `root` and every process descended from it. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      (children.get(ppid) ?? children.set(ppid, []).get(ppid)!).push(Number(entry));
    } catch {
      // Exited while we looked.
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) out.push(...(children.get(out[i]!) ?? []));
  return out;
}

/** Resolves `true` once none of `pids` is alive, `false` if some still are after `timeoutMs`. */
export async function gone(pids: readonly number[], timeoutMs = 10_000): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > until) return false;
    await sleep(10);
  }
  return true;
}

/**
 * SIGKILL to `root` and every process descended from it, all frozen first
 * so that none of them answers a client after another died (PostgreSQL's
 * backends each lead a process group of their own, so a signal to the
 * root's group would miss them). Resolves once all are gone.
 */
export async function killTree(root: number): Promise<void> {
  const pids = processTree(root);
  for (const pid of pids) signal(pid, 'SIGSTOP');
  for (const pid of pids) signal(pid, 'SIGKILL');
  await gone(pids);
}

/** Stops `root` with `sig` and waits until it and its children are gone (SIGKILL to all after `timeoutMs`). */
export async function stopTree(root: number, sig: NodeJS.Signals, timeoutMs = 60_000): Promise<void> {
  const pids = processTree(root);
  signal(root, sig);
  if (!(await gone(pids, timeoutMs))) await killTree(root);
}
