/**
 * A worker process for the multi-process TriggerVersionField spec. It runs
 * `operations` save-then-save-again operations on one row and reports how
 * many increments were acknowledged (saves that resolved):
 *
 *   load the row, stock += 1, save (retried from the load on conflict);
 *   stock += 1 again, save again with the version the first save produced.
 *
 * The second save is where a wrong read-back shows: holding someone else's
 * version, it would succeed and overwrite their increment with a stale stock.
 * With `racy`, the worker's second save is the unsafe design, written here
 * with plain Knex rather than through the library: it commits its UPDATE on
 * its own, waits (bounded) until another process has moved the row, and only
 * then reads the version back, so the race happens instead of merely being
 * possible; its third write then trusts that version.
 *
 * Protocol: argv[2] is the JSON config; the worker prints `ready`, waits for
 * `go` on stdin (so all workers start together), then prints its JSON result.
 */
import type { Knex } from 'knex';
import * as readline from 'node:readline';
import { connect, RecordModifiedError, retryOnConflict } from '../../lib';
import { incrementStock, productModel, VERSION_KINDS } from './models';

interface WorkerConfig {
  url: string;
  table: string;
  id: number;
  operations: number;
  racy: boolean;
}

const RACY_WAIT_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as WorkerConfig;
  const db = connect(config.url);
  const Product = productModel(db, config.table, VERSION_KINDS.find((k) => k.name === 'TriggerVersionField')!);
  await Product.get(config.id); // connect before the start signal
  const lines = readline.createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
  process.stdout.write('ready\n');
  await go;
  lines.close();

  let acked = 0;
  let conflicts = 0;
  for (let i = 0; i < config.operations; i++) {
    const p = await incrementStock(Product, config.id, () => conflicts++);
    acked++;
    p.stock += 1;
    if (config.racy) {
      acked += await racySaves(db.knex, config, p.stock, p.version);
      continue;
    }
    try {
      await p.save();
      acked++;
    } catch (err) {
      if (!(err instanceof RecordModifiedError)) throw err;
      conflicts++;
    }
  }
  await db.close();
  process.stdout.write(`${JSON.stringify({ acked, conflicts })}\n`);
}

/**
 * The unsafe read-back, by hand: a checked UPDATE committed on its own, then
 * a separate read of the version after another writer may have moved it,
 * then one more checked write trusting that version. Returns the writes
 * acknowledged.
 */
async function racySaves(knex: Knex, config: WorkerConfig, stock: number, held: number): Promise<number> {
  const matched = await knex(config.table).where({ id: config.id, version: held }).update({ stock });
  if (matched === 0) return 0;
  const deadline = Date.now() + RACY_WAIT_MS;
  let version = held + 1;
  while (Date.now() < deadline) {
    const row = (await knex(config.table).where({ id: config.id }).first('version')) as { version: unknown };
    version = Number(row.version);
    if (version > held + 1) break;
    await sleep(1);
  }
  const again = await knex(config.table).where({ id: config.id, version }).update({ stock: stock + 1 });
  return 1 + again;
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? String(err)}\n`);
  process.exit(1);
});
