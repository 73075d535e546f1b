/**
 * `npm run cluster -- up galera|replicas [--sync]`, `down [galera|replicas]`,
 * `env`: starts and stops the local clusters the cluster specs, the stress
 * harness and the bench run against.
 *
 * `up` waits until the cluster is ready, then prints its addresses on
 * standard output, one `NAME=value` line each (`GALERA_URLS=...`,
 * `PG_PRIMARY_URL=...`, `PG_REPLICA_URLS=...`); progress goes to standard
 * error. A cluster already running is reused. `down` stops what `up`
 * started, by pid, and removes its directory. Directories and ports come
 * from the environment (see cluster-config.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CLUSTER_KINDS, ClusterConfig, clusterConfig, ClusterKind } from './cluster-config';
import { ClusterState, pidsUnder, readState, stateAlive, writeState } from './cluster-state';
import { galeraHealthy, galeraUnavailable, galeraUp, stopServers } from './galera-cluster';
import { replicasHealthy, replicasUnavailable, replicasUp } from './replica-set';

const USAGE = `usage: npm run cluster -- up galera|replicas [--sync]
       npm run cluster -- down [galera|replicas]
       npm run cluster -- env`;

class UsageProblem extends Error {}

const log = (line: string): void => {
  process.stderr.write(`${line}\n`);
};

function printEnv(state: ClusterState): void {
  for (const [name, value] of Object.entries(state.env)) process.stdout.write(`${name}=${value}\n`);
}

function kindOf(word: string | undefined): ClusterKind {
  if (!CLUSTER_KINDS.includes(word as ClusterKind)) throw new UsageProblem(`unknown cluster ${JSON.stringify(word)}; expected ${CLUSTER_KINDS.join(' or ')}`);
  return word as ClusterKind;
}

async function healthy(kind: ClusterKind, config: ClusterConfig, dir: string): Promise<boolean> {
  return kind === 'galera' ? galeraHealthy(config, dir) : replicasHealthy(config);
}

async function down(kind: ClusterKind, config: ClusterConfig): Promise<void> {
  const dir = path.join(config.dir, kind);
  const state = readState(dir);
  if (state !== undefined) {
    log(`${kind}: stopping ${state.pids.length} server(s)`);
    // MariaDB: SIGTERM is a normal shutdown. PostgreSQL: SIGINT is a fast one (SIGTERM would wait for sessions).
    await stopServers(state.pids, kind === 'galera' ? 'SIGTERM' : 'SIGINT');
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

async function up(kind: ClusterKind, config: ClusterConfig, sync: boolean): Promise<void> {
  const why = kind === 'galera' ? galeraUnavailable() : replicasUnavailable();
  if (why !== undefined) throw new Error(`cannot start ${kind} here: ${why}`);
  const dir = path.join(config.dir, kind);
  const existing = readState(dir);
  if (existing !== undefined && stateAlive(existing) && (await healthy(kind, config, dir))) {
    log(`${kind}: already running`);
    printEnv(existing);
    return;
  }
  await down(kind, config);
  const started = Date.now();
  try {
    const state = kind === 'galera' ? await galeraUp(config, dir, log) : await replicasUp(config, dir, { sync }, log);
    writeState(state);
    log(`${kind}: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    printEnv(state);
  } catch (err) {
    // Leave nothing running behind a failed start; keep the logs.
    const pids = pidsUnder(dir);
    if (pids.length > 0) await stopServers(pids, 'SIGKILL', 5000);
    throw err;
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const [command, ...rest] = argv;
  const config = clusterConfig();
  const flags = rest.filter((a) => a.startsWith('--'));
  const words = rest.filter((a) => !a.startsWith('--'));
  for (const f of flags) if (f !== '--sync' || command !== 'up') throw new UsageProblem(`unknown option ${f}`);
  switch (command) {
    case 'up':
      if (words.length !== 1) throw new UsageProblem('up takes one cluster: galera or replicas');
      return up(kindOf(words[0]), config, flags.includes('--sync'));
    case 'down':
      if (words.length > 1) throw new UsageProblem('down takes at most one cluster');
      for (const kind of words.length === 1 ? [kindOf(words[0])] : CLUSTER_KINDS) await down(kind, config);
      return;
    case 'env':
      if (words.length > 0) throw new UsageProblem('env takes no arguments');
      for (const kind of CLUSTER_KINDS) {
        const state = readState(path.join(config.dir, kind));
        if (state !== undefined && stateAlive(state)) printEnv(state);
      }
      return;
    default:
      throw new UsageProblem(command === undefined ? 'no command' : `unknown command ${JSON.stringify(command)}`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: Error) => {
    if (err instanceof UsageProblem) {
      process.stderr.write(`cluster: ${err.message}\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(`cluster: ${err.message}\n`);
    process.exit(1);
  },
);
