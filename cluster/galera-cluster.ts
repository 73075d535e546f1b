/**
 * A three-node MariaDB Galera cluster on 127.0.0.1, for the cluster specs,
 * the stress harness and the bench.
 *
 * Facts it relies on (Debian 12, MariaDB 10.11, galera-4):
 * - Each node runs as the `mysql` user with data it owns: as root, the rsync
 *   state transfer fails (its daemon drops to `nobody`).
 * - Node 1 bootstraps (`--wsrep-new-cluster`); nodes 2 and 3 join by an
 *   rsync state transfer, one after the other (node 1 donates to one joiner
 *   at a time): 20-40 s in all on this machine.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ClusterConfig } from './cluster-config';
import type { ClusterState } from './cluster-state';
import { logTail, startDaemon } from './daemon';
import { alive, gone, signal } from './process-tree';
import { mysqlRows, waitUntil } from './probe';
import { chownDir, runAs, which } from './server-binaries';

const PROVIDER = '/usr/lib/galera/libgalera_smm.so';

/** Why a Galera cluster cannot run here, or `undefined` when it can. */
export function galeraUnavailable(): string | undefined {
  if (which(['mariadbd']) === undefined) return 'no mariadbd binary';
  if (which(['mariadb-install-db']) === undefined) return 'no mariadb-install-db binary';
  if (!fs.existsSync(PROVIDER)) return `no Galera provider at ${PROVIDER} (Debian's galera-4 package)`;
  if (which(['rsync']) === undefined) return 'no rsync (state transfer)';
  return undefined;
}

/** One node's directory and ports. */
export interface GaleraNode {
  readonly index: number;
  readonly dir: string;
  readonly sql: number;
  readonly group: number;
  readonly ist: number;
  readonly sst: number;
}

/** The nodes of the cluster in `dir`, node 1 first. */
export function galeraNodes(config: ClusterConfig, dir: string): GaleraNode[] {
  const g = config.galera;
  return Array.from({ length: g.nodes }, (_, i) => ({
    index: i + 1,
    dir: path.join(dir, `node${i + 1}`),
    sql: g.sql + i,
    group: g.group + i,
    ist: g.ist + i,
    sst: g.sst + i,
  }));
}

function nodeArgs(node: GaleraNode, all: readonly GaleraNode[], bootstrap: boolean, startPosition?: string): string[] {
  const members = all.map((n) => `127.0.0.1:${n.group}`).join(',');
  const args = [
    '--no-defaults',
    `--datadir=${path.join(node.dir, 'data')}`,
    `--port=${node.sql}`,
    '--bind-address=127.0.0.1',
    `--socket=${path.join(node.dir, 'mysqld.sock')}`,
    `--pid-file=${path.join(node.dir, 'mysqld.pid')}`,
    '--skip-name-resolve',
    '--binlog-format=ROW',
    '--default-storage-engine=InnoDB',
    '--innodb-autoinc-lock-mode=2',
    '--innodb-buffer-pool-size=48M',
    '--innodb-log-file-size=16M',
    '--innodb-flush-log-at-trx-commit=2',
    '--max-connections=200',
    '--wsrep-on=ON',
    `--wsrep-provider=${PROVIDER}`,
    '--wsrep-cluster-name=kc_galera',
    `--wsrep-cluster-address=gcomm://${members}`,
    `--wsrep-node-name=node${node.index}`,
    `--wsrep-node-address=127.0.0.1:${node.group}`,
    `--wsrep-node-incoming-address=127.0.0.1:${node.sql}`,
    `--wsrep-provider-options=base_port=${node.group};gmcast.listen_addr=tcp://127.0.0.1:${node.group};ist.recv_addr=127.0.0.1:${node.ist};gcache.size=32M`,
    '--wsrep-sst-method=rsync',
    `--wsrep-sst-receive-address=127.0.0.1:${node.sst}`,
  ];
  if (bootstrap) args.push('--wsrep-new-cluster');
  if (startPosition !== undefined) args.push(`--wsrep-start-position=${startPosition}`);
  return args;
}

async function status(port: number): Promise<Record<string, string>> {
  const rows = await mysqlRows(port, "SHOW GLOBAL STATUS LIKE 'wsrep_%'");
  return Object.fromEntries(rows.map((r) => [String(r.Variable_name), String(r.Value)]));
}

/** Resolves once the node answers, is synced and sees `size` members. */
export async function waitGaleraSynced(node: GaleraNode, pid: number, size: number): Promise<void> {
  await waitUntil(
    `Galera node ${node.index} (port ${node.sql})`,
    async () => {
      const s = await status(node.sql);
      return s.wsrep_ready === 'ON' && s.wsrep_local_state_comment === 'Synced' && Number(s.wsrep_cluster_size) === size;
    },
    { timeoutMs: 120_000, stillRunning: () => alive(pid), failure: () => logTail(path.join(node.dir, 'server.log')) },
  );
}

function start(node: GaleraNode, all: readonly GaleraNode[], bootstrap: boolean, startPosition?: string): number {
  return startDaemon(which(['mariadbd'])!, nodeArgs(node, all, bootstrap, startPosition), { user: 'mysql', logFile: path.join(node.dir, 'server.log') });
}

/**
 * Starts a node of a running cluster again (it rejoins the others), and
 * returns its pid. After a crash (SIGKILL) the node's grastate.dat holds
 * seqno -1: started as it is, it joins from an undefined position, which
 * Galera answers with a full state transfer (SST: with rsync, the donor
 * is blocked for writes while it copies). As mysqld_safe does, it first
 * runs `--wsrep-recover`, which reads the last committed position from
 * InnoDB, and starts from there: a donor then sends only the missing write
 * sets from its gcache (IST), when it still holds them (32 MB here).
 */
export async function restartGaleraNode(node: GaleraNode, all: readonly GaleraNode[]): Promise<{ pid: number; startPosition: string | undefined }> {
  const startPosition = crashed(node) ? await recoverPosition(node, all) : undefined;
  return { pid: start(node, all, false, startPosition), startPosition };
}

function crashed(node: GaleraNode): boolean {
  try {
    return /^seqno:\s+-1\s*$/m.test(fs.readFileSync(path.join(node.dir, 'data', 'grastate.dat'), 'utf8'));
  } catch {
    return false;
  }
}

/** `uuid:seqno` of the last transaction InnoDB committed on `node` (mariadbd --wsrep-recover), or `undefined`. */
async function recoverPosition(node: GaleraNode, all: readonly GaleraNode[]): Promise<string | undefined> {
  const logFile = path.join(node.dir, 'recover.log');
  fs.rmSync(logFile, { force: true });
  const owner = runAs('mysql');
  // --log-error: the recovered position is written to the error log, which mariadbd opens as the mysql user.
  await promisify(execFile)(which(['mariadbd'])!, [...nodeArgs(node, all, false), '--wsrep-recover', `--log-error=${logFile}`], owner ?? {});
  const found = /WSREP: Recovered position: ([0-9a-f-]+:-?\d+)/.exec(fs.readFileSync(logFile, 'utf8'));
  return found === null || found[1]!.endsWith(':-1') ? undefined : found[1];
}

/** Stops `pids` cleanly (SIGTERM: InnoDB and Galera shut down in order); SIGKILL after `timeoutMs`. */
export async function stopServers(pids: readonly number[], sig: NodeJS.Signals, timeoutMs = 60_000): Promise<void> {
  for (const pid of pids) signal(pid, sig);
  if (await gone(pids, timeoutMs)) return;
  for (const pid of pids) signal(pid, 'SIGKILL');
  await gone(pids);
}

/** Starts the cluster in `dir` (fresh) and returns what `down` needs. */
export async function galeraUp(config: ClusterConfig, dir: string, log: (line: string) => void): Promise<ClusterState> {
  const owner = runAs('mysql');
  fs.mkdirSync(dir, { recursive: true });
  chownDir(dir, owner);
  const nodes = galeraNodes(config, dir);
  for (const node of nodes) {
    fs.mkdirSync(node.dir, { recursive: true });
    chownDir(node.dir, owner);
  }
  // A joiner starts on an empty data directory, which the state transfer fills.
  for (const node of nodes.slice(1)) {
    fs.mkdirSync(path.join(node.dir, 'data'));
    chownDir(path.join(node.dir, 'data'), owner);
  }
  const [first, ...others] = nodes as [GaleraNode, ...GaleraNode[]];
  log('galera: initialising node 1');
  const install = ['--no-defaults', `--datadir=${path.join(first.dir, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db'];
  if (owner !== undefined) install.push('--user=mysql');
  execFileSync(which(['mariadb-install-db'])!, install, { stdio: ['ignore', 'ignore', 'pipe'] });

  // Node 1 bootstraps the cluster; the others join it by a state transfer (rsync).
  const pids = [start(first, nodes, true)];
  await waitGaleraSynced(first, pids[0]!, 1);
  await mysqlRows(first.sql, 'CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
  log(`galera: ${others.length} more nodes joining`);
  for (const node of others) pids.push(start(node, nodes, false));
  await Promise.all(nodes.map((node, i) => waitGaleraSynced(node, pids[i]!, nodes.length)));
  return {
    kind: 'galera',
    pids,
    dir,
    env: { GALERA_URLS: nodes.map((n) => `mysql://root@127.0.0.1:${n.sql}/test`).join(',') },
  };
}

/** Whether a running cluster still answers with every node synced. */
export async function galeraHealthy(config: ClusterConfig, dir: string): Promise<boolean> {
  const nodes = galeraNodes(config, dir);
  try {
    const all = await Promise.all(nodes.map((n) => status(n.sql)));
    return all.every((s) => s.wsrep_ready === 'ON' && Number(s.wsrep_cluster_size) === nodes.length);
  } catch {
    return false;
  }
}
