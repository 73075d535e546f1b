/**
 * `npm run bench -- --topology galera|replicas [--seconds S] [--workers W] [--reps N]`:
 * throughput across the clusters `npm run cluster -- up galera|replicas`
 * starts (their URLs from the variables it prints), each figure the median
 * of N interleaved timed runs of S seconds.
 *
 * - galera: uncontended saves (each worker its own row) and contended
 *   increments (every worker on 3 hot rows, retryOnConflict) with every
 *   worker on one node, then spread over the three; and the cost of
 *   wsrep_sync_wait on a read (what isChanged(), refresh() and the
 *   conflict read pay on Galera);
 * - replicas: reads by primary key from the primary alone, from the
 *   replicas (connect({ primary, replicas })) and inside db.primary(), and
 *   saves (always on the primary) for comparison.
 *
 * On one machine every server shares the same cores: the figures show what
 * the routing costs and what conflicts across nodes cost, not the capacity
 * a real cluster adds.
 */
import { AutoField, connect, ConnectTarget, Database, IntegerField, IntegerVersionField, isChanged, Model, RecordModifiedError, RetryableError, retryOnConflict } from '../lib';

type Topo = 'galera' | 'replicas';

export interface TopologyBenchOptions {
  readonly topology: Topo;
  readonly seconds: number;
  readonly workers: number;
  readonly reps: number;
}

export const TOPOLOGY_USAGE = 'usage: npm run bench -- --topology galera|replicas [--seconds S (default 3)] [--workers W (default 8)] [--reps N (default 3)]';

export function parseTopologyArgs(argv: readonly string[]): TopologyBenchOptions {
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    if (!argv[i]!.startsWith('--') || argv[i + 1] === undefined) throw new Error(TOPOLOGY_USAGE);
    values.set(argv[i]!, argv[i + 1]!);
  }
  for (const k of values.keys()) if (!['--topology', '--seconds', '--workers', '--reps'].includes(k)) throw new Error(`unknown argument ${k}\n${TOPOLOGY_USAGE}`);
  const topology = values.get('--topology');
  if (topology !== 'galera' && topology !== 'replicas') throw new Error(TOPOLOGY_USAGE);
  const num = (k: string, d: number): number => {
    const n = Number(values.get(k) ?? d);
    if (!(n > 0)) throw new Error(`${k} takes a positive number\n${TOPOLOGY_USAGE}`);
    return n;
  };
  return { topology, seconds: num('--seconds', 3), workers: Math.round(num('--workers', 8)), reps: Math.round(num('--reps', 3)) };
}

function urls(name: string): string[] {
  const list = (process.env[name] ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw new Error(`${name} is not set: start the cluster with npm run cluster -- up ..., then eval its env`);
  return list;
}

class Counter extends Model {
  static table = 'kc_bench_topology';
  static fields = { id: new AutoField(), value: new IntegerField({ default: 0 }), version: new IntegerVersionField() };
  declare id: number;
  declare value: number;
  declare version: number;
}

/** A model class per database (a class binds to one). */
function counterOn(db: Database): typeof Counter {
  const C = class extends Counter {};
  C.bind(db);
  return C;
}

interface Rate {
  readonly perSecond: number;
  readonly conflicts: number;
}

/** Runs `op(worker)` in `workers` loops for `seconds`; the rate of completed ops, and the conflicts met. */
async function timed(seconds: number, workers: number, op: (w: number) => Promise<number>): Promise<Rate> {
  const end = Date.now() + seconds * 1000;
  let done = 0;
  let conflicts = 0;
  const t0 = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      while (Date.now() < end) {
        conflicts += await op(w);
        done++;
      }
    }),
  );
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { perSecond: done / s, conflicts: conflicts / s };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** An increment with retryOnConflict; resolves with the conflicts it met. */
async function increment(C: typeof Counter, id: number): Promise<number> {
  let met = 0;
  await retryOnConflict(
    async () => {
      const c = await C.get(id);
      c.value += 1;
      try {
        await c.save();
      } catch (err) {
        if (err instanceof RecordModifiedError || err instanceof RetryableError) met++;
        throw err;
      }
    },
    { attempts: 10_000 },
  );
  return met;
}

interface Scenario {
  readonly name: string;
  readonly unit: string;
  run(): Promise<Rate>;
}

async function measure(o: TopologyBenchOptions, scenarios: readonly Scenario[], log: (line: string) => void): Promise<string[]> {
  const results = new Map<string, Rate[]>();
  for (let rep = 1; rep <= o.reps; rep++) {
    for (const s of scenarios) {
      const r = await s.run();
      results.set(s.name, [...(results.get(s.name) ?? []), r]);
      log(`  rep ${rep}: ${s.name}: ${r.perSecond.toFixed(0)} ${s.unit}`);
    }
  }
  return scenarios.map((s) => {
    const rs = results.get(s.name)!;
    const conflicts = median(rs.map((r) => r.conflicts));
    return `${s.name.padEnd(58)} ${median(rs.map((r) => r.perSecond)).toFixed(0).padStart(7)} ${s.unit}${conflicts > 0 ? `  (${conflicts.toFixed(0)} conflicts/s)` : ''}`;
  });
}

async function withTable<T>(setup: Database, fn: (ids: number[]) => Promise<T>, rows: number): Promise<T> {
  await setup.knex.schema.dropTableIfExists(Counter.table);
  await setup.knex.schema.createTable(Counter.table, (t) => {
    t.increments('id');
    t.integer('value').notNullable().defaultTo(0);
    t.bigInteger('version').notNullable();
  });
  const C = counterOn(setup);
  const ids: number[] = [];
  for (let i = 0; i < rows; i++) ids.push((await C.create({ value: 0 })).id);
  try {
    return await fn(ids);
  } finally {
    await setup.knex.schema.dropTableIfExists(Counter.table);
  }
}

async function galera(o: TopologyBenchOptions, log: (line: string) => void): Promise<string[]> {
  const nodes = urls('GALERA_URLS');
  const rotated = (i: number): ConnectTarget => ({ nodes: nodes.map((_, k) => nodes[(i + k) % nodes.length]!) });
  const one = connect(rotated(0));
  const spread = nodes.map((_, i) => connect(rotated(i)));
  try {
    return await withTable(
      one,
      async (ids) => {
        const onOne = counterOn(one);
        const onSpread = spread.map(counterOn);
        const hot = ids.slice(0, 3);
        const own = ids.slice(3);
        // Each worker keeps its own instance: an uncontended save is one CAS.
        // refresh(): a plain get() on another node than the last writer's may still hold the version before.
        const mine = async (C: typeof Counter, w: number) => {
          const c = await C.get(own[w]!);
          await c.refresh();
          return c;
        };
        const saves = (pick: (w: number) => typeof Counter): (() => Promise<Rate>) => async () => {
          const held = await Promise.all(Array.from({ length: o.workers }, (_, w) => mine(pick(w), w)));
          return timed(o.seconds, o.workers, async (w) => {
            held[w]!.value += 1;
            await held[w]!.save();
            return 0;
          });
        };
        const plain = (sql: string) => async () => timed(o.seconds, o.workers, async (w) => (await one.knex.raw(sql, [own[w]!]), 0));
        const table = Counter.table;
        return await measure(
          o,
          [
            { name: `uncontended saves, ${o.workers} workers on 1 node`, unit: 'saves/s', run: saves(() => onOne) },
            { name: `uncontended saves, ${o.workers} workers over 3 nodes`, unit: 'saves/s', run: saves((w) => onSpread[w % 3]!) },
            { name: `contended increments (3 rows), ${o.workers} workers on 1 node`, unit: 'increments/s', run: () => timed(o.seconds, o.workers, (w) => increment(onOne, hot[w % 3]!)) },
            { name: `contended increments (3 rows), ${o.workers} workers over 3 nodes`, unit: 'increments/s', run: () => timed(o.seconds, o.workers, (w) => increment(onSpread[w % 3]!, hot[w % 3]!)) },
            { name: 'read by key, wsrep_sync_wait=0', unit: 'reads/s', run: plain(`SELECT version FROM ${table} WHERE id = ?`) },
            { name: 'read by key, SET STATEMENT wsrep_sync_wait=1 FOR', unit: 'reads/s', run: plain(`SET STATEMENT wsrep_sync_wait=1 FOR SELECT version FROM ${table} WHERE id = ?`) },
            {
              name: 'isChanged() (a read with wsrep_sync_wait=1)',
              unit: 'reads/s',
              run: async () => {
                const held = await Promise.all(Array.from({ length: o.workers }, (_, w) => mine(onOne, w)));
                return timed(o.seconds, o.workers, async (w) => (await isChanged(held[w]!), 0));
              },
            },
          ],
          log,
        );
      },
      3 + o.workers,
    );
  } finally {
    await Promise.all([one, ...spread].map((db) => db.close()));
  }
}

async function replicas(o: TopologyBenchOptions, log: (line: string) => void): Promise<string[]> {
  const [primary] = urls('PG_PRIMARY_URL');
  const replicaUrls = urls('PG_REPLICA_URLS');
  const alone = connect(primary!);
  const routed = connect({ primary: primary!, replicas: replicaUrls });
  try {
    return await withTable(
      alone,
      async (ids) => {
        // The replica replays the rows before reads start.
        await new Promise((r) => setTimeout(r, 500));
        const A = counterOn(alone);
        const R = counterOn(routed);
        const pick = (): number => ids[Math.floor(Math.random() * ids.length)]!;
        const reads = (C: typeof Counter, scoped: boolean) => () => timed(o.seconds, o.workers, async () => (await (scoped ? routed.primary(() => C.get(pick())) : C.get(pick())), 0));
        return await measure(
          o,
          [
            { name: `get() by key, ${o.workers} workers, primary alone`, unit: 'reads/s', run: reads(A, false) },
            { name: `get() by key, ${o.workers} workers, { primary, replicas }`, unit: 'reads/s', run: reads(R, false) },
            { name: `get() by key, ${o.workers} workers, inside db.primary()`, unit: 'reads/s', run: reads(R, true) },
            {
              name: `uncontended saves, ${o.workers} workers (primary)`,
              unit: 'saves/s',
              run: async () => {
                const held = await Promise.all(ids.slice(0, o.workers).map((id) => routed.primary(() => R.get(id))));
                return timed(o.seconds, o.workers, async (w) => {
                  held[w]!.value += 1;
                  await held[w]!.save();
                  return 0;
                });
              },
            },
          ],
          log,
        );
      },
      Math.max(100, o.workers),
    );
  } finally {
    await Promise.all([alone.close(), routed.close()]);
  }
}

/** Runs the topology bench; resolves with the lines of its table. */
export async function runTopologyBench(o: TopologyBenchOptions, log: (line: string) => void): Promise<string[]> {
  log(`topology ${o.topology}: ${o.reps} reps of ${o.seconds} s, ${o.workers} workers`);
  return o.topology === 'galera' ? galera(o, log) : replicas(o, log);
}
