import { RecordModifiedError, retryOnConflict } from '../../lib';
import type { Workload } from '../workload';
import { createItemTable, itemRow, knexInsert, sharedItemModel } from '../bench-schema';

// The backoff retryOnConflict uses by default, so every implementation waits alike.
const backoff = (attempt: number): number => Math.random() * Math.min(2 ** attempt, 100);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ATTEMPTS = 10_000;

/**
 * D. W concurrent workers do read-modify-write `stock + 1` on one row,
 * retrying on conflict, until N increments succeed in all. Any lost update
 * shows as a final count below N.
 */
export const contentionWorkload: Workload = {
  id: 'D',
  unit: 'increments/s',
  target: 1.0,
  title: (s) => `D ${s.workers} workers, ${s.increments} increments`,
  plan: (s) => ({ rounds: 2, ops: Math.max(1, Math.ceil(s.increments / 2)) }),

  async setup(env) {
    await createItemTable(env.knex, env.table('counter'));
  },

  async trial(env, impl, size) {
    const table = env.table('counter');
    const Item = sharedItemModel(env.db, table);
    const id = await knexInsert(env.db, table, { ...itemRow(0), stock: 0 });
    const workers = env.sizes.workers;
    let claimed = 0;
    let succeeded = 0;
    let conflicts = 0;
    let exhausted = 0;

    // Each worker claims an increment before starting it, so exactly `size` succeed.
    const swarm = (increment: (worker: number) => Promise<void>) =>
      Promise.all(
        Array.from({ length: workers }, async (_, w) => {
          while (claimed < size) {
            claimed++;
            await increment(w);
            succeeded++;
          }
        }),
      );
    // Hand-written retry loop: read, compare-and-swap, back off on a miss.
    const retrying = async (attempt: () => Promise<boolean>) => {
      for (let n = 1; n <= ATTEMPTS; n++) {
        if (await attempt()) return;
        conflicts++;
        await sleep(backoff(n));
      }
      exhausted++;
      throw new Error(`no success after ${ATTEMPTS} attempts`);
    };

    let run: () => Promise<void>;
    if (impl === 'kc') {
      const once = async () => {
        const item = await Item.get(id);
        item.stock += 1;
        try {
          await item.save();
        } catch (err) {
          if (err instanceof RecordModifiedError) conflicts++;
          throw err;
        }
      };
      run = () => swarm(() => retryOnConflict(once, { attempts: ATTEMPTS })).then(() => undefined);
    } else if (impl === 'knex') {
      run = () =>
        swarm(() =>
          retrying(async () => {
            const row = await env.knex(table).where({ id }).first('stock', 'version');
            const version = Number(row.version);
            const n = await env.knex(table).where({ id, version }).update({ stock: Number(row.stock) + 1, version: version + 1 });
            return n === 1;
          }),
        ).then(() => undefined);
    } else {
      const select = `SELECT stock, version FROM ${table} WHERE id = ?`;
      const update = `UPDATE ${table} SET stock = ?, version = ? WHERE id = ? AND version = ?`;
      run = () =>
        env.raw.with(workers, async (conns) => {
          await swarm((w) =>
            retrying(async () => {
              const conn = conns[w % conns.length]!;
              const [row] = await conn.rows(select, [id]);
              const version = Number(row!.version);
              return (await conn.write(update, [Number(row!.stock) + 1, version + 1, id, version])) === 1;
            }),
          );
        });
    }
    return {
      ops: size,
      run: () => run(),
      extra: () => ({ conflicts }),
      async verify(check) {
        const row = await env.knex(table).where({ id }).first();
        check(exhausted === 0, 'no increment ran out of attempts');
        check(succeeded === size, `${size} increments succeeded (${succeeded})`);
        check(Number(row.stock) === size, `zero lost updates: the counter reads ${row.stock}, expected ${size}`);
        check(Number(row.version) === 1 + size, `one version per successful write (${row.version}, expected ${1 + size})`);
      },
    };
  },
};
