/**
 * A PostgreSQL primary with streaming replicas on 127.0.0.1, for the
 * cluster specs, the stress harness and the bench.
 *
 * Replication is asynchronous by default, as in most deployments: a read on
 * a replica right after a commit on the primary is often stale (measured
 * here: 72-98% of reads, median lag 0.4-1.7 ms). `sync: true` makes the
 * replica a synchronous standby with `synchronous_commit = remote_apply`,
 * so that a commit returns only once the replica shows it.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterConfig } from './cluster-config';
import type { ClusterState } from './cluster-state';
import { logTail, startDaemon } from './daemon';
import { alive } from './process-tree';
import { pgRows, waitUntil } from './probe';
import { chownDir, postgresBin, runAs } from './server-binaries';

/** Why a replica set cannot run here, or `undefined` when it can. */
export function replicasUnavailable(): string | undefined {
  const bin = postgresBin();
  if (bin === undefined) return 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin';
  if (!fs.existsSync(path.join(bin, 'pg_basebackup'))) return 'no pg_basebackup';
  return undefined;
}

/** The command line of a server of the set; `extra` settings (`name=value`) come last and win. */
export function replicaSetServerArgs(dir: string, port: number, extra: readonly string[] = []): string[] {
  const args = ['-D', path.join(dir, 'data'), '-p', String(port), '-k', dir];
  // Durability off (fsync): the machine is shared and a killed server is not
  // a power cut; crash recovery still replays the WAL the OS holds.
  const settings = [
    'listen_addresses=127.0.0.1',
    'wal_level=replica',
    'max_wal_senders=10',
    'max_replication_slots=10',
    'hot_standby=on',
    'fsync=off',
    'full_page_writes=off',
    'shared_buffers=32MB',
    'max_connections=120',
    'log_min_messages=warning',
    ...extra,
  ];
  for (const s of settings) args.push('-c', s);
  return args;
}

async function waitAnswers(what: string, dir: string, port: number, pid: number, ready: (rows: Record<string, unknown>[]) => boolean, sql: string): Promise<void> {
  await waitUntil(what, async () => ready(await pgRows(port, sql)), {
    timeoutMs: 60_000,
    stillRunning: () => alive(pid),
    failure: () => logTail(path.join(dir, 'server.log')),
  });
}

/** Starts a primary and its replicas in `dir` (fresh) and returns what `down` needs. */
export async function replicasUp(config: ClusterConfig, dir: string, options: { sync: boolean; settings?: readonly string[] }, log: (line: string) => void): Promise<ClusterState> {
  const bin = postgresBin()!;
  const owner = runAs('postgres');
  const asPostgres = owner ?? {};
  fs.mkdirSync(dir, { recursive: true });
  chownDir(dir, owner);
  const primaryDir = path.join(dir, 'primary');
  fs.mkdirSync(primaryDir);
  chownDir(primaryDir, owner);
  const port = config.replicas.primary;

  log('replicas: initialising the primary');
  execFileSync(path.join(bin, 'initdb'), ['-D', path.join(primaryDir, 'data'), '-A', 'trust', '-U', 'root', '-E', 'UTF8', '--no-sync', '--no-instructions'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...asPostgres,
  });
  const pids = [startDaemon(path.join(bin, 'postgres'), replicaSetServerArgs(primaryDir, port, options.settings), { user: 'postgres', logFile: path.join(primaryDir, 'server.log') })];
  await waitAnswers('PostgreSQL primary', primaryDir, port, pids[0]!, () => true, 'SELECT 1');
  await pgRows(port, 'CREATE DATABASE test');

  const replicaPorts: number[] = [];
  for (let i = 1; i <= config.replicas.replicas; i++) {
    const replicaDir = path.join(dir, `replica${i}`);
    fs.mkdirSync(replicaDir);
    chownDir(replicaDir, owner);
    log(`replicas: copying the primary to replica ${i}`);
    execFileSync(
      path.join(bin, 'pg_basebackup'),
      ['-h', '127.0.0.1', '-p', String(port), '-U', 'root', '-D', path.join(replicaDir, 'data'), '-R', '-X', 'stream', '-C', '-S', `replica_${i}`, '--no-sync', '--checkpoint=fast'],
      { stdio: ['ignore', 'ignore', 'pipe'], ...asPostgres },
    );
    const replicaPort = port + i;
    const pid = startDaemon(path.join(bin, 'postgres'), replicaSetServerArgs(replicaDir, replicaPort, options.settings), { user: 'postgres', logFile: path.join(replicaDir, 'server.log') });
    pids.push(pid);
    replicaPorts.push(replicaPort);
    await waitAnswers(`PostgreSQL replica ${i}`, replicaDir, replicaPort, pid, (rows) => rows[0]?.r === true, 'SELECT pg_is_in_recovery() AS r');
  }
  await waitAnswers(
    'replication',
    primaryDir,
    port,
    pids[0]!,
    (rows) => Number(rows[0]?.n) === replicaPorts.length,
    "SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'",
  );
  if (options.sync) {
    // Only now: with a synchronous standby named before it exists, every commit would wait for it.
    await pgRows(port, "ALTER SYSTEM SET synchronous_standby_names = '*'");
    await pgRows(port, "ALTER SYSTEM SET synchronous_commit = 'remote_apply'");
    await pgRows(port, 'SELECT pg_reload_conf()');
  }
  return {
    kind: 'replicas',
    pids,
    dir,
    env: {
      PG_PRIMARY_URL: `postgres://root@127.0.0.1:${port}/test`,
      PG_REPLICA_URLS: replicaPorts.map((p) => `postgres://root@127.0.0.1:${p}/test`).join(','),
    },
  };
}

/** Whether the primary answers and every replica is streaming. */
export async function replicasHealthy(config: ClusterConfig): Promise<boolean> {
  try {
    const rows = await pgRows(config.replicas.primary, "SELECT count(*) AS n FROM pg_stat_replication WHERE state = 'streaming'");
    return Number(rows[0]?.n) === config.replicas.replicas;
  } catch {
    return false;
  }
}
