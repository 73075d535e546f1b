/**
 * Where this machine keeps the database server programs, and which system
 * user runs them. Shared by the private servers of the stress harness and
 * the local clusters of `npm run cluster`.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The newest PostgreSQL server's `bin` directory, or `undefined` when none is installed. */
export function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!fs.existsSync(root)) return undefined;
  const versions = fs.readdirSync(root).sort((a, b) => Number(b) - Number(a));
  for (const v of versions) if (fs.existsSync(path.join(root, v, 'bin', 'postgres'))) return path.join(root, v, 'bin');
  return undefined;
}

/** The first of `names` found in the system's program directories. */
export function which(names: readonly string[]): string | undefined {
  for (const name of names) {
    for (const dir of ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']) {
      const p = path.join(dir, name);
      if (fs.existsSync(p)) return p;
    }
  }
  return undefined;
}

/**
 * The uid and gid to run a server as: its system user when we are root
 * (MariaDB's rsync state transfer and PostgreSQL's initdb refuse root),
 * otherwise `undefined`: the current user.
 */
export function runAs(user: string): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

/** Hands `dir` (not its contents) to `owner`, when there is one. */
export function chownDir(dir: string, owner: { uid: number; gid: number } | undefined): void {
  if (owner === undefined) return;
  fs.chownSync(dir, owner.uid, owner.gid);
}
