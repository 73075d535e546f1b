/**
 * npm run stress -- --dialect sqlite|postgres|mysql [--processes 4] [--workers 4] [--ops 100]
 *                   [--rows 3] [--kind IntegerVersionField|AutoIncVersionField|all] [--self-test]
 *                   [--think-ms 0] [--attempts 1000] [--url URL] [--keep] [--json]
 *                   [--faults restart|kill|refuse] [--fault-count 3] [--settle-ms 2000] [--down-ms 1500] [--port N]
 *                   [--topology galera|replicas|serializable]
 *
 * With --topology, the processes spread over a cluster started by
 * `npm run cluster -- up galera|replicas` (its URLs come from the variables
 * it prints; see stress-topology.ts), and --dialect may be left out.
 * Runs the lost-update stress test (see run-stress.ts) once per version kind
 * and prints the figures and the checks. Exit code 0 when every run passes:
 * every check holds, or with --self-test, the checker caught lost updates.
 *
 * With --faults, PostgreSQL and MySQL runs go to a private server the
 * harness starts itself (its own data directory, --port or a free one;
 * never the shared 5432/3306), which it restarts, kills or keeps down
 * --fault-count times during each run; SQLite runs kill writer processes
 * mid-transaction. The run lasts until the faults are over (--ops is not
 * used).
 *
 * With --topology galera|replicas, `--faults restart|kill` strike a real
 * member of a private cluster the harness starts itself (private-cluster.ts:
 * its own directory under KC_CLUSTER_DIR, the shared cluster's ports + 50,
 * or from --port: Galera's SQL ports N..N+2 and its group, IST and SST ports
 * 10, 20 and 30 above; the primary on N, the replica on N+1) and destroys
 * at the end, on Ctrl-C and SIGTERM too: Galera node 1, then node 2, then
 * node 3 (each where the previous one's clients failed over to), or the
 * PostgreSQL primary; each stays down --down-ms, then starts again (a Galera
 * node recovers its position with --wsrep-recover after a SIGKILL and
 * rejoins). `--faults refuse` cuts Galera node 1 or the primary off its
 * clients through a proxy instead (member-cut.ts): on the cluster the
 * environment names (GALERA_URLS, PG_PRIMARY_URL), which it leaves running,
 * or on a private one when there is none.
 */
import { TestDialectName } from '../spec/support/dialects';
import { formatReport, passed } from './print-report';
import { FAULT_MODES, FaultMode } from './fault-injector';
import { PrivateServer } from './private-server';
import { runStress, StressOptions } from './run-stress';
import { MemberCut } from './member-cut';
import { clusterInEnvironment, memberToCut, stressTopology, TOPOLOGIES, withCutMember, type TopologyName } from './stress-topology';
import { PrivateCluster } from './private-cluster';
import type { FaultTarget } from './fault-injector';
import type { ClusterKind } from '../cluster/cluster-config';
import { STRESS_KINDS, stressKind } from './version-kinds';

const USAGE =
  'usage: npm run stress -- --dialect sqlite|postgres|mysql [--processes N] [--workers N] [--ops N] [--rows N] [--kind NAME|all] [--self-test] [--think-ms MS] [--attempts N] [--url URL] [--keep] [--json]\n' +
  '                         [--faults restart|kill|refuse] [--fault-count N] [--settle-ms MS] [--down-ms MS] [--port N] [--topology galera|replicas|serializable]\n' +
  '  --topology galera|replicas --faults restart|kill: a member of a private cluster crashes or restarts (--port: its first port);\n' +
  '  --faults refuse: Galera node 1 or the primary is cut off its clients (the cluster in the environment, or a private one)';

function parse(argv: readonly string[]): { runs: StressOptions[]; json: boolean; port?: number; privateCluster?: ClusterKind } {
  const flags = new Set(['--self-test', '--keep', '--json']);
  const values = new Map<string, string>();
  const on = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (flags.has(arg)) on.add(arg);
    else if (arg.startsWith('--') && i + 1 < argv.length) values.set(arg, argv[++i]!);
    else throw new Error(`unexpected argument ${arg}\n${USAGE}`);
  }
  const known = ['--dialect', '--processes', '--workers', '--ops', '--rows', '--kind', '--think-ms', '--attempts', '--url', '--faults', '--fault-count', '--settle-ms', '--down-ms', '--port', '--topology'];
  for (const k of values.keys()) if (!known.includes(k)) throw new Error(`unknown option ${k}\n${USAGE}`);
  const int = (name: string, fallback: number, min = 1): number => {
    const n = Number(values.get(name) ?? fallback);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}`);
    return n;
  };
  const topologyName = values.get('--topology');
  if (topologyName !== undefined && !TOPOLOGIES.includes(topologyName as TopologyName)) throw new Error(`--topology takes ${TOPOLOGIES.join('|')}\n${USAGE}`);
  const mode = values.get('--faults');
  if (mode !== undefined && !FAULT_MODES.includes(mode as FaultMode)) throw new Error(`--faults takes ${FAULT_MODES.join('|')}\n${USAGE}`);
  // restart and kill strike a member of a private cluster (see private-cluster.ts); refuse cuts one off the cluster the environment names, or a private one.
  const privateCluster = topologyName !== undefined && topologyName !== 'serializable' && (mode === 'restart' || mode === 'kill' || (mode === 'refuse' && !clusterInEnvironment(topologyName as ClusterKind)));
  const topology = topologyName === undefined || privateCluster ? undefined : stressTopology(topologyName as TopologyName);
  const topologyDialect = topologyName === undefined ? undefined : topologyName === 'galera' ? 'mysql' : 'postgres';
  if (topologyDialect !== undefined && values.has('--dialect') && values.get('--dialect') !== topologyDialect) throw new Error(`--topology ${topologyName} runs on ${topologyDialect}, not ${values.get('--dialect')}`);
  if (topologyName === 'serializable' && mode !== undefined) throw new Error('--topology serializable takes no --faults: use --topology galera|replicas, or --dialect postgres --faults ...');
  const dialect = values.get('--dialect') ?? topologyDialect;
  if (dialect !== 'sqlite' && dialect !== 'postgres' && dialect !== 'mysql') throw new Error(USAGE);
  const selfTest = on.has('--self-test');
  const kindName = values.get('--kind') ?? 'all';
  const kinds = kindName === 'all' ? STRESS_KINDS : [stressKind(kindName)];
  const common = {
    dialect: dialect as TestDialectName,
    url: values.get('--url'),
    processes: int('--processes', 4),
    workers: int('--workers', 4),
    ops: int('--ops', 100),
    // The self-test runs with the same figures: it only switches the version check off.
    rows: int('--rows', 3),
    selfTest,
    thinkMs: int('--think-ms', 0, 0),
    attempts: int('--attempts', 1000),
    keep: on.has('--keep'),
    topology,
  };
  if (mode !== undefined && dialect === 'sqlite' && mode !== 'kill') throw new Error('SQLite has no server to restart or refuse connections: use --faults kill (writer processes killed with SIGKILL mid-transaction)');
  if (mode !== undefined && values.has('--url')) throw new Error('--faults runs against a private server the harness starts itself; --url cannot be used with it');
  const faults = mode === undefined ? undefined : { mode: mode as FaultMode, count: int('--fault-count', 3), settleMs: int('--settle-ms', 2000, 100), downMs: int('--down-ms', 1500, 0) };
  const port = values.has('--port') ? int('--port', 0, 1024) : undefined;
  return { runs: kinds.map((kind) => ({ ...common, kind, faults })), json: on.has('--json'), port, privateCluster: privateCluster ? (topologyName as ClusterKind) : undefined };
}

async function main(): Promise<number> {
  const parsed = parse(process.argv.slice(2));
  const { json, port } = parsed;
  let runs = parsed.runs;
  const first = runs[0]!;
  const say = (line: string): void => {
    if (!json) console.log(line);
  };
  let server: PrivateServer | undefined;
  let cluster: PrivateCluster | undefined;
  let target: FaultTarget | undefined;
  let cut: MemberCut | undefined;
  // Whatever was started goes away on Ctrl-C or a kill, too.
  const teardown = async (): Promise<void> => {
    await server?.destroy();
    await cluster?.destroy();
    await cut?.destroy();
  };
  const stop = (): void => {
    void teardown().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (parsed.privateCluster !== undefined) {
      cluster = PrivateCluster.create(parsed.privateCluster, port);
      say(`private ${cluster.kind} cluster in ${cluster.dir} (ports from ${cluster.kind === 'galera' ? cluster.config.galera.sql : cluster.config.replicas.primary}); starting`);
      const t0 = Date.now();
      await cluster.start((line) => say(`  ${line}`));
      say(`  ready in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
      const topology = cluster.topology();
      target = cluster.target();
      runs = runs.map((r) => ({ ...r, topology }));
    }
    const member = first.faults?.mode === 'refuse' ? (runs[0]!.topology === undefined ? undefined : memberToCut(runs[0]!.topology)) : undefined;
    if (member !== undefined) {
      cut = await MemberCut.create(member.url, member.name);
      say(`${member.name} reached through a cut-off proxy at ${cut.url}`);
      runs = runs.map((r) => ({ ...r, topology: withCutMember(r.topology!, cut!.url) }));
      target = cut;
    } else if (first.faults !== undefined && first.dialect !== 'sqlite' && target === undefined) {
      server = await PrivateServer.create(first.dialect, port);
      say(`private ${first.dialect} server on port ${server.port}, data in ${server.dir}`);
      await server.start();
      target = server;
    }
    let ok = true;
    for (const options of runs) {
      const report = await runStress({ ...options, server: target });
      console.log(json ? JSON.stringify({ ...report, pass: passed(report) }) : `${formatReport(report)}\n`);
      ok &&= passed(report);
    }
    return ok ? 0 : 1;
  } finally {
    await teardown();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
