import type { Workload } from '../workload';
import { createItemTable, fillItems, ITEM_COLUMNS, sharedItemModel } from '../bench-schema';

type Row = Record<string, unknown>;

/**
 * B. Load N rows with one query: as model instances (kc) against the plain
 * row objects Knex and the driver return. Counted in rows per second.
 */
export const loadWorkload: Workload = {
  id: 'B',
  unit: 'rows/s',
  target: 1.0,
  title: (s) => `B load ${s.loadRows} rows`,
  // Each round loads all the rows; a repetition is four loads per implementation.
  plan: (s) => ({ rounds: 4, ops: s.loadRows }),

  async setup(env) {
    const table = env.table('load');
    await createItemTable(env.knex, table);
    await fillItems(env.knex, table, env.sizes.loadRows);
  },

  async trial(env, impl, size) {
    const table = env.table('load');
    const Item = sharedItemModel(env.db, table);
    const sql = `SELECT ${ITEM_COLUMNS.join(', ')} FROM ${table}`;
    let loaded: readonly Row[] = [];
    let run: () => Promise<void>;
    if (impl === 'kc') {
      run = async () => {
        loaded = (await Item.query().limit(size)) as unknown as Row[];
      };
    } else if (impl === 'knex') {
      run = async () => {
        loaded = await env.knex(table).select(ITEM_COLUMNS).limit(size);
      };
    } else {
      const limited = `${sql} LIMIT ${size}`;
      run = () =>
        env.raw.with(1, async ([conn]) => {
          loaded = await conn!.rows(limited, []);
        });
    }
    return {
      ops: size,
      run: () => run(),
      async verify(check) {
        check(loaded.length === size, `${size} rows loaded (got ${loaded.length})`);
        if (impl === 'kc') check(loaded.every((r) => r instanceof Item), 'every kc row is an Item instance');
        let stock = 0;
        for (const r of loaded) stock += Number(r.stock);
        const ids = new Set(loaded.map((r) => Number(r.id)));
        check(ids.size === size, 'every row loaded once');
        check(stock === (size * (size - 1)) / 2, `values read back intact (stock sum ${stock})`);
        check(loaded.every((r) => Number(r.version) === 1 && typeof r.name === 'string' && Number(r.price) === Number(r.stock) + 0.25), 'every field read back intact');
      },
    };
  },
};
