/**
 * What `npm run bench -- ...` asked for: which databases, how many
 * interleaved repetitions, which workloads, and how big they are.
 */

export type TargetName = 'sqlite-file' | 'sqlite-memory' | 'postgres' | 'mysql';
/** `loop`: a loop of kc's `save()`, which workload E measures `saveAll()` against; it runs wherever kc does. */
export type ImplName = 'kc' | 'knex' | 'raw' | 'loop';
export type WorkloadId = 'A' | 'B' | 'C' | 'D' | 'E';
/** How the bench hands the database to `connect()`: a URL, a Knex config object, or a Knex instance built by the caller. */
export type ConnectKind = 'url' | 'config' | 'instance';

export const IMPLS: readonly ImplName[] = ['kc', 'knex', 'raw'];
export const WORKLOADS: readonly WorkloadId[] = ['A', 'B', 'C', 'D', 'E'];
export const CONNECT_KINDS: readonly ConnectKind[] = ['url', 'config', 'instance'];

export interface BenchSizes {
  /** A: sequential saves of one row. */
  readonly saves: number;
  /** B: rows loaded by one query. */
  readonly loadRows: number;
  /** C: single-row inserts. */
  readonly creates: number;
  /** D: concurrent workers and the successful increments they must reach together. */
  readonly workers: number;
  readonly increments: number;
  /** E: changed rows saved together. */
  readonly batchRows: number;
  /** Saves counted for statements per save, per version field. */
  readonly countedSaves: number;
  /** Rows loaded by the heap probe. */
  readonly memoryRows: number;
}

export const FULL_SIZES: BenchSizes = Object.freeze({
  saves: 2000,
  loadRows: 10_000,
  creates: 2000,
  workers: 8,
  increments: 500,
  batchRows: 1000,
  countedSaves: 200,
  memoryRows: 100_000,
});

// Small enough for a spec, big enough that every code path and check runs.
export const SMOKE_SIZES: BenchSizes = Object.freeze({
  saves: 20,
  loadRows: 50,
  creates: 20,
  workers: 4,
  increments: 24,
  batchRows: 20,
  countedSaves: 5,
  memoryRows: 2000,
});

export interface BenchOptions {
  readonly targets: readonly TargetName[];
  readonly reps: number;
  readonly sizes: BenchSizes;
  readonly workloads: readonly WorkloadId[];
  readonly impls: readonly ImplName[];
  /** Each target is measured once per way of connecting. */
  readonly connect: readonly ConnectKind[];
  /** PostgreSQL/MySQL database the bench creates and uses. */
  readonly database: string;
  /** Prefix of every table the bench creates, so a smoke run and a full run never share one. */
  readonly tablePrefix: string;
  /** Skip the heap probe (used while profiling one workload). */
  readonly memory: boolean;
  /** Write the report as JSON to this file as well. */
  readonly json: string | undefined;
}

const TARGETS_BY_DIALECT: Record<string, readonly TargetName[]> = {
  sqlite: ['sqlite-file', 'sqlite-memory'],
  'sqlite-file': ['sqlite-file'],
  'sqlite-memory': ['sqlite-memory'],
  postgres: ['postgres'],
  mysql: ['mysql'],
  all: ['sqlite-file', 'sqlite-memory', 'postgres', 'mysql'],
};

export const USAGE = `usage: npm run bench -- [--dialect sqlite|postgres|mysql|all] [--reps N] [--smoke]
                          [--workload A,B,C,D,E] [--impl kc,knex,raw] [--connect url,config,instance]
                          [--no-memory] [--json FILE]

  --dialect   sqlite (a file and :memory:, the default), sqlite-file, sqlite-memory,
              postgres, mysql or all; repeat or comma-separate for several
  --reps      interleaved measured repetitions per workload and implementation (default 5)
  --smoke     tiny sizes: checks that the bench and its correctness checks work
  --workload  run only these workloads (A save, B load, C create, D contention, E saveAll)
  --impl      run only these implementations (kc = knex-concurrency, knex, raw = driver;
              E also runs a loop of kc's save() wherever kc runs)
  --connect   how connect() gets the database: url (the default), config (a Knex config
              object), instance (a Knex instance the caller built); several: each is measured
  --no-memory skip the heap-per-instance probe
  --json      also write the full report to FILE

  PG_URL / MYSQL_URL are admin connections (defaults postgres://root@127.0.0.1:5432/test,
  mysql://root@127.0.0.1:3306/test); the bench uses the database KC_BENCH_DB, else
  KC_TEST_DB, else kc_bench, creating it if needed.`;

export class BenchUsageError extends Error {}

function list<T extends string>(value: string, allowed: readonly T[], what: string): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!allowed.includes(item as T)) throw new BenchUsageError(`unknown ${what} "${item}" (use ${allowed.join(', ')})`);
  return items as T[];
}

/** Parses the command line; throws `BenchUsageError` with a message for the user. */
export function parseBenchOptions(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): BenchOptions {
  const targets: TargetName[] = [];
  let reps = 5;
  let sizes = FULL_SIZES;
  let workloads: readonly WorkloadId[] = WORKLOADS;
  let impls: readonly ImplName[] = IMPLS;
  let connect: readonly ConnectKind[] = ['url'];
  let memory = true;
  let json: string | undefined;
  const args = [...argv];
  const value = (flag: string): string => {
    const v = args.shift();
    if (v === undefined || v.startsWith('--')) throw new BenchUsageError(`${flag} needs a value`);
    return v;
  };
  while (args.length > 0) {
    const arg = args.shift()!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (inline !== undefined) args.unshift(inline);
    switch (flag) {
      case '--dialect':
        for (const d of list(value(flag), Object.keys(TARGETS_BY_DIALECT), 'dialect')) targets.push(...TARGETS_BY_DIALECT[d]!);
        break;
      case '--reps':
        reps = Number(value(flag));
        if (!Number.isSafeInteger(reps) || reps < 1) throw new BenchUsageError('--reps takes a positive integer');
        break;
      case '--smoke':
        sizes = SMOKE_SIZES;
        break;
      case '--workload':
        workloads = list(value(flag).toUpperCase(), WORKLOADS, 'workload');
        break;
      case '--impl':
        impls = list(value(flag), IMPLS, 'implementation');
        break;
      case '--connect':
        connect = [...new Set(list(value(flag), CONNECT_KINDS, 'way of connecting'))];
        break;
      case '--no-memory':
        memory = false;
        break;
      case '--json':
        json = value(flag);
        break;
      default:
        throw new BenchUsageError(`unknown argument ${arg}`);
    }
  }
  const database = env.KC_BENCH_DB ?? env.KC_TEST_DB ?? 'kc_bench';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(database)) throw new BenchUsageError(`the bench database name must be a simple lower-case identifier, not ${database}`);
  return {
    targets: [...new Set(targets.length > 0 ? targets : TARGETS_BY_DIALECT.sqlite!)],
    reps,
    sizes,
    workloads,
    impls,
    connect,
    database,
    tablePrefix: 'bench_',
    memory,
    json,
  };
}
