import { AutoIncVersionField, IntegerVersionField, VersionField } from '../lib';
import type { BenchEnv } from './bench-target';
import { createItemTable, itemModel, itemRow, knexInsert } from './bench-schema';
import { RoundTripCounter } from './round-trip-counter';
import type { Check } from './workload';

export interface StatementCount {
  readonly versionField: string;
  readonly saves: number;
  /** Knex `query` events per save. */
  readonly queryEvents: number;
  /** Round trips (or SQLite driver executions) per save, counted below Knex. */
  readonly roundTrips: number;
  readonly roundTripUnit: string;
}

const KINDS: readonly [string, () => VersionField][] = [
  ['IntegerVersionField', () => new IntegerVersionField()],
  ['AutoIncVersionField', () => new AutoIncVersionField()],
];

/**
 * Statements per save() in steady state (after one save has prepared what a
 * connection caches), counted twice: by Knex `query` events and by the
 * driver. Both must be exactly one per save.
 */
export async function statementsPerSave(env: BenchEnv, check: Check): Promise<StatementCount[]> {
  const out: StatementCount[] = [];
  const saves = env.sizes.countedSaves;
  for (const [name, make] of KINDS) {
    const table = env.table(`stmt_${name.toLowerCase()}`);
    await createItemTable(env.knex, table);
    const Item = itemModel(env.db, table, make());
    const item = await Item.get(await knexInsert(env.db, table, itemRow(0)));
    item.stock = -1;
    await item.save();
    let events = 0;
    const listener = (q: { sql: string }) => {
      if (/^update /i.test(q.sql)) events++;
      else events += 1000; // anything but the UPDATE is a failure, and shows as one
    };
    const counter = new RoundTripCounter(env.knex, env.db.dialect);
    env.knex.on('query', listener);
    counter.start();
    try {
      for (let i = 1; i <= saves; i++) {
        item.stock = i;
        await item.save();
      }
    } finally {
      counter.stop();
      env.knex.off('query', listener);
    }
    const row = await env.knex(table).where({ id: item.id }).first();
    const result = { versionField: name, saves, queryEvents: events / saves, roundTrips: counter.count / saves, roundTripUnit: counter.unit };
    check(result.queryEvents === 1, `${name}: one UPDATE per save() by Knex query events (${result.queryEvents})`);
    check(result.roundTrips === 1, `${name}: one ${counter.unit.replace(/s$/, '')} per save() counted below Knex (${result.roundTrips})`);
    check(Number(row.version) === item.version && Number(row.stock) === saves, `${name}: the row holds the last save and the instance's version`);
    out.push(result);
  }
  return out;
}
