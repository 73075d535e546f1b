import type { Workload } from '../workload';
import { createItemTable, itemRow, knexInsert, sharedItemModel } from '../bench-schema';

const UPDATE = 'UPDATE %t SET stock = ?, version = ? WHERE id = ? AND version = ?';

/**
 * A. One row, N sequential "change a field, save()" with the version
 * checked every time. Every implementation must see each write match.
 */
export const saveWorkload: Workload = {
  id: 'A',
  unit: 'saves/s',
  target: 1.0,
  // Issue 12: a save loop at no less than 0.8x the bare driver's prepared UPDATE.
  rawTarget: 0.8,
  title: (s) => `A ${s.saves} sequential save()s, one row`,
  plan: (s) => ({ rounds: 4, ops: Math.max(1, Math.ceil(s.saves / 4)) }),

  async setup(env) {
    await createItemTable(env.knex, env.table('save'));
  },

  async trial(env, impl, size) {
    const table = env.table('save');
    const id = await knexInsert(env.db, table, itemRow(0));
    const Item = sharedItemModel(env.db, table);
    let run: () => Promise<void>;
    let held = 1;
    let mismatches = 0;
    if (impl === 'kc') {
      const item = await Item.get(id);
      run = async () => {
        for (let i = 1; i <= size; i++) {
          item.stock = i;
          await item.save();
        }
        held = item.version;
      };
    } else if (impl === 'knex') {
      run = async () => {
        for (let i = 1; i <= size; i++) {
          const n = await env.knex(table).where({ id, version: held }).update({ stock: i, version: held + 1 });
          if (n !== 1) mismatches++;
          else held++;
        }
      };
    } else {
      const sql = UPDATE.replace('%t', table);
      run = () =>
        env.raw.with(1, async ([conn]) => {
          for (let i = 1; i <= size; i++) {
            const n = await conn!.write(sql, [i, held + 1, id, held]);
            if (n !== 1) mismatches++;
            else held++;
          }
        });
    }
    return {
      ops: size,
      run: () => run(),
      async verify(check) {
        const row = await env.knex(table).where({ id }).first();
        check(mismatches === 0, `every compare-and-swap matched its row (${mismatches} did not)`);
        check(Number(row.version) === 1 + size, `the version rose once per save (${row.version}, expected ${1 + size})`);
        check(held === Number(row.version), `the writer holds the row's version (${held} vs ${row.version})`);
        check(Number(row.stock) === size, `the last save is in the row (stock ${row.stock}, expected ${size})`);
      },
    };
  },
};
