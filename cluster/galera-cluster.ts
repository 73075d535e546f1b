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
import { execFileSync } from 'node:child_process';
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

interface Node {
  readonly index: number;
  readonly dir: string;
  readonly sql: number;
  readonly group: number;
  readonly ist: number;
  readonly sst: number;
}

function nodesOf(config: ClusterConfig, dir: string): Node[] {
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

function nodeArgs(node: Node, all: readonly Node[], bootstrap: boolean): string[] {
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
  return args;
}

async function status(port: number): Promise<Record<string, string>> {
  const rows = await mysqlRows(port, "SHOW GLOBAL STATUS LIKE 'wsrep_%'");
  return Object.fromEntries(rows.map((r) => [String(r.Variable_name), String(r.Value)]));
}

/** Resolves once the node answers, is synced and sees `size` members. */
async function waitSynced(node: Node, pid: number, size: number): Promise<void> {
  await waitUntil(
    `Galera node ${node.index} (port ${node.sql})`,
    async () => {
      const s = await status(node.sql);
      return s.wsrep_ready === 'ON' && s.wsrep_local_state_comment === 'Synced' && Number(s.wsrep_cluster_size) === size;
    },
    { timeoutMs: 120_000, stillRunning: () => alive(pid), failure: () => logTail(path.join(node.dir, 'server.log')) },
  );
}

function start(node: Node, all: readonly Node[], bootstrap: boolean): number {
  return startDaemon(which(['mariadbd'])!, nodeArgs(node, all, bootstrap), { user: 'mysql', logFile: path.join(node.dir, 'server.log') });
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
  const nodes = nodesOf(config, dir);
  for (const node of nodes) {
    fs.mkdirSync(node.dir, { recursive: true });
    chownDir(node.dir, owner);
  }
  // A joiner starts on an empty data directory, which the state transfer fills.
  for (const node of nodes.slice(1)) {
    fs.mkdirSync(path.join(node.dir, 'data'));
    chownDir(path.join(node.dir, 'data'), owner);
  }
  const [first, ...others] = nodes as [Node, ...Node[]];
  log('galera: initialising node 1');
  const install = ['--no-defaults', `--datadir=${path.join(first.dir, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db'];
  if (owner !== undefined) install.push('--user=mysql');
  execFileSync(which(['mariadb-install-db'])!, install, { stdio: ['ignore', 'ignore', 'pipe'] });

  // Node 1 bootstraps the cluster; the others join it by a state transfer (rsync).
  const pids = [start(first, nodes, true)];
  await waitSynced(first, pids[0]!, 1);
  await mysqlRows(first.sql, 'CREATE DATABASE IF NOT EXISTS test CHARACTER SET utf8mb4 COLLATE utf8mb4_bin');
  log(`galera: ${others.length} more nodes joining`);
  for (const node of others) pids.push(start(node, nodes, false));
  await Promise.all(nodes.map((node, i) => waitSynced(node, pids[i]!, nodes.length)));
  return {
    kind: 'galera',
    pids,
    dir,
    env: { GALERA_URLS: nodes.map((n) => `mysql://root@127.0.0.1:${n.sql}/test`).join(',') },
  };
}

/** Whether a running cluster still answers with every node synced. */
export async function galeraHealthy(config: ClusterConfig, dir: string): Promise<boolean> {
  const nodes = nodesOf(config, dir);
  try {
    const all = await Promise.all(nodes.map((n) => status(n.sql)));
    return all.every((s) => s.wsrep_ready === 'ON' && Number(s.wsrep_cluster_size) === nodes.length);
  } catch {
    return false;
  }
}
