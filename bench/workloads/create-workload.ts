import type { Workload } from '../workload';
import { createItemTable, itemRow, knexInsert, sharedItemModel } from '../bench-schema';

/**
 * C. N single-row inserts, each resolving to the new key: `create()`
 * against a hand-written Knex insert and a prepared driver insert.
 */
export const createWorkload: Workload = {
  id: 'C',
  unit: 'inserts/s',
  target: 1.0,
  title: (s) => `C ${s.creates} single-row create()s`,
  plan: (s) => ({ rounds: 4, ops: Math.max(1, Math.ceil(s.creates / 4)) }),

  async setup(env) {
    await createItemTable(env.knex, env.table('create'));
  },

  async trial(env, impl, size) {
    const table = env.table('create');
    const Item = sharedItemModel(env.db, table);
    await env.knex(table).del();
    const ids: number[] = [];
    let run: () => Promise<void>;
    if (impl === 'kc') {
      run = async () => {
        for (let i = 0; i < size; i++) {
          const { version: _, ...attrs } = itemRow(i);
          const item = await Item.create(attrs);
          ids.push(item.id);
        }
      };
    } else if (impl === 'knex') {
      run = async () => {
        for (let i = 0; i < size; i++) ids.push(await knexInsert(env.db, table, itemRow(i)));
      };
    } else {
      const sql = `INSERT INTO ${table} (name, stock, price, version) VALUES (?, ?, ?, ?)`;
      run = () =>
        env.raw.with(1, async ([conn]) => {
          for (let i = 0; i < size; i++) {
            const r = itemRow(i);
            ids.push(await conn!.insert(sql, [r.name, r.stock, r.price, r.version]));
          }
        });
    }
    return {
      ops: size,
      run: () => run(),
      async verify(check) {
        const rows = await env.knex(table).select('id', 'stock', 'version').orderBy('id');
        check(rows.length === size, `${size} rows inserted (found ${rows.length})`);
        check(new Set(ids).size === size && ids.every((id, i) => id === Number(rows[i]?.id)), 'each insert returned its own new key');
        // The library starts a row from the microsecond clock, plain inserts write 1.
        check(rows.every((r: Record<string, unknown>, i: number) => Number(r.stock) === i && Number.isSafeInteger(Number(r.version)) && Number(r.version) >= 1), 'every row holds its values and a first version');
      },
    };
  },
};
