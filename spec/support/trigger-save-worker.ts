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
 * With `racy`, the worker installs the internal hook that reads the version
 * back after commit, and waits (bounded) until another process has moved the
 * row before that read, so the race happens instead of merely being possible.
 *
 * Protocol: argv[2] is the JSON config; the worker prints `ready`, waits for
 * `go` on stdin (so all workers start together), then prints its JSON result.
 */
import * as readline from 'node:readline';
import { connect, RecordModifiedError, retryOnConflict } from '../../lib';
import { triggerReadBackHook } from '../../lib/trigger-read-back-hook';
import { productModel, VERSION_KINDS } from './models';

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
  if (config.racy) {
    triggerReadBackHook.racy = async ({ knex, table, column, pk, held }) => {
      // Our update made it held + 1; wait for another writer to move it on.
      const deadline = Date.now() + RACY_WAIT_MS;
      while (Date.now() < deadline) {
        const row = await knex(table).where({ id: pk }).first(column);
        if (Number(row[column]) > held + 1) return;
        await sleep(1);
      }
    };
  }
  await Product.get(config.id); // connect before the start signal
  const lines = readline.createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
  process.stdout.write('ready\n');
  await go;
  lines.close();

  let acked = 0;
  let conflicts = 0;
  for (let i = 0; i < config.operations; i++) {
    const p = await retryOnConflict(
      async () => {
        const c = await Product.get(config.id);
        c.stock += 1;
        try {
          await c.save();
        } catch (err) {
          if (err instanceof RecordModifiedError) conflicts++;
          throw err;
        }
        return c;
      },
      { attempts: 1000, delayMs: () => Math.random() * 3 },
    );
    acked++;
    p.stock += 1;
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

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? String(err)}\n`);
  process.exit(1);
});
