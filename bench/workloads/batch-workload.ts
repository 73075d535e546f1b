import type { Knex } from 'knex';
import { BatchConflictError, RecordModifiedError, type DialectName } from '../../lib';
import type { Workload } from '../workload';
import { createItemTable, fillItems, sharedItemModel } from '../bench-schema';
import { RoundTripCounter } from '../round-trip-counter';

const UPDATE = 'UPDATE %t SET stock = ?, version = ? WHERE id = ? AND version = ?';

type Row = { id: number; stock: number; version: number };

/**
 * E. N loaded rows, each changed (`stock + 1`), saved together: `saveAll()`
 * (kc) against a loop of `save()` (loop), the same compare-and-swaps
 * hand-written with Knex in one transaction (knex), and prepared driver
 * statements in one transaction (raw). Before each trial someone else
 * changes 1% of the rows behind the writers' back: every implementation
 * must report exactly those as conflicts and write all the others.
 */
export const batchWorkload: Workload = {
  id: 'E',
  unit: 'rows/s',
  target: 1.0,
  title: (s) => `E saveAll() of ${s.batchRows} changed rows`,
  plan: (s) => ({ rounds: 2, ops: s.batchRows }),
  impls: (impls) => (impls.includes('kc') ? [...impls, 'loop'] : impls),

  async setup(env) {
    const table = env.table('batch');
    await createItemTable(env.knex, table);
    await fillItems(env.knex, table, env.sizes.batchRows);
  },

  async trial(env, impl, size) {
    const table = env.table('batch');
    const Item = sharedItemModel(env.db, table);
    const before = (await env.knex(table).select('id', 'stock', 'version').orderBy('id').limit(size)).map((r: Record<string, unknown>) => ({
      id: Number(r.id),
      stock: Number(r.stock),
      version: Number(r.version),
    })) as Row[];
    const items = impl === 'kc' || impl === 'loop' ? await Item.query().orderBy('id').limit(size) : [];
    for (const item of items) item.stock += 1;
    // Someone else's writes, behind the writers' back: 1% of the rows (at least one).
    const behind = new Set(before.filter((_, i) => i % 100 === 50 % size).map((r) => r.id));
    await env.knex(table).whereIn('id', [...behind]).increment('version', 1);

    let conflicts = 0;
    let statements = 0;
    let roundTrips = 0;
    let run: () => Promise<void>;
    if (impl === 'kc') {
      run = async () => {
        const counter = new StatementCounter(env.knex, env.db.dialect);
        try {
          await Item.saveAll(items, { atomic: false });
        } catch (err) {
          if (!(err instanceof BatchConflictError)) throw err;
          conflicts = err.conflicts.length;
        } finally {
          [statements, roundTrips] = counter.stop();
        }
      };
    } else if (impl === 'loop') {
      run = async () => {
        for (const item of items) {
          try {
            await item.save();
          } catch (err) {
            if (!(err instanceof RecordModifiedError)) throw err;
            conflicts++;
          }
        }
      };
    } else if (impl === 'knex') {
      run = () =>
        env.knex.transaction(async (trx) => {
          for (const r of before) {
            const n = await trx(table).where({ id: r.id, version: r.version }).update({ stock: r.stock + 1, version: r.version + 1 });
            if (n !== 1) conflicts++;
          }
        });
    } else {
      const sql = UPDATE.replace('%t', table);
      run = () =>
        env.raw.with(1, async ([conn]) => {
          await conn!.exec('BEGIN');
          try {
            for (const r of before) if ((await conn!.write(sql, [r.stock + 1, r.version + 1, r.id, r.version])) !== 1) conflicts++;
            await conn!.exec('COMMIT');
          } catch (err) {
            await conn!.exec('ROLLBACK').catch(() => undefined);
            throw err;
          }
        });
    }
    return {
      ops: size,
      run: () => run(),
      extra: (): Record<string, number> => (impl === 'kc' ? { statements, roundTrips, batches: 1 } : {}),
      async verify(check) {
        check(conflicts === behind.size, `conflicts reported = rows changed behind its back (${conflicts} vs ${behind.size})`);
        const after = new Map(
          (await env.knex(table).whereIn('id', before.map((r) => r.id)).select('id', 'stock', 'version')).map((r: Record<string, unknown>) => [Number(r.id), r]),
        );
        let wrong = 0;
        for (const r of before) {
          const row = after.get(r.id)!;
          const stock = behind.has(r.id) ? r.stock : r.stock + 1;
          if (Number(row.stock) !== stock || Number(row.version) !== r.version + 1) wrong++;
        }
        check(wrong === 0, `every row holds its write (or, changed behind its back, theirs) and one version more (${wrong} do not)`);
        if (items.length > 0) {
          const stale = items.filter((item) => !behind.has(item.id) && item.version !== Number(after.get(item.id)!.version)).length;
          check(stale === 0, `every saved instance holds its row's version (${stale} do not)`);
        }
      },
    };
  },
};

/** Knex `query` events and, below Knex, round trips (SQLite: driver executions) while a batch runs. */
class StatementCounter {
  readonly #knex: Knex;
  readonly #below: RoundTripCounter;
  #events = 0;
  readonly #listener = () => this.#events++;

  constructor(knex: Knex, dialect: DialectName) {
    this.#knex = knex;
    this.#below = new RoundTripCounter(knex, dialect);
    knex.on('query', this.#listener);
    this.#below.start();
  }

  /** Stops counting: [Knex query events (BEGIN and COMMIT included), round trips]. */
  stop(): [number, number] {
    this.#knex.off('query', this.#listener);
    return [this.#events, this.#below.stop()];
  }
}
