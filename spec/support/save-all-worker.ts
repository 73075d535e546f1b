/**
 * A worker process for the multi-process `saveAll()` spec. It runs
 * `operations` batches over the same hot rows and reports how many
 * increments of each row were acknowledged:
 *
 *   load every row, stock += 1 on each, `Product.saveAll(rows, { atomic })`;
 *   atomic: a `BatchConflictError` wrote nothing, so the whole batch is
 *   retried from the load; not atomic: the saved rows are acknowledged, and
 *   only the refused ones are refreshed, incremented and saved again.
 *
 * Protocol: argv[2] is the JSON config; the worker prints `ready`, waits for
 * `go` on stdin (so all workers start together), then prints its JSON result.
 */
import * as readline from 'node:readline';
import { BatchConflictError, connect, RetryableError } from '../../lib';
import { productModel, VERSION_KINDS } from './models';

interface WorkerConfig {
  url: string;
  table: string;
  kind: string;
  ids: number[];
  operations: number;
  atomic: boolean;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2]!) as WorkerConfig;
  const db = connect(config.url);
  const Product = productModel(db, config.table, VERSION_KINDS.find((k) => k.name === config.kind)!);
  await Product.get(config.ids[0]); // connect before the start signal
  const lines = readline.createInterface({ input: process.stdin });
  const go = new Promise<void>((resolve) => lines.once('line', () => resolve()));
  process.stdout.write('ready\n');
  await go;
  lines.close();

  const acked: Record<number, number> = Object.fromEntries(config.ids.map((id) => [id, 0]));
  let conflicts = 0;
  let retryable = 0;
  for (let op = 0; op < config.operations; op++) {
    let pending = await Product.query().whereIn('id', config.ids).orderBy('id');
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 2000) throw new Error('too many attempts');
      for (const p of pending) p.stock += 1;
      try {
        await Product.saveAll(pending, { atomic: config.atomic });
        for (const p of pending) acked[p.id]!++;
        pending = [];
      } catch (err) {
        if (err instanceof RetryableError) {
          retryable++;
          pending = await Product.query().whereIn('id', pending.map((p) => p.id)).orderBy('id');
        } else if (err instanceof BatchConflictError) {
          conflicts += err.conflicts.length;
          const refused = new Set(err.conflicts.map((c) => c.target));
          if (!config.atomic) for (const p of pending) if (!refused.has(p)) acked[p.id]!++;
          // Atomic: nothing was written, so every row is loaded again; otherwise only the refused ones.
          const again = config.atomic ? pending : pending.filter((p) => refused.has(p));
          pending = await Product.query().whereIn('id', again.map((p) => p.id)).orderBy('id');
        } else {
          throw err;
        }
        await sleep(Math.random() * 3);
      }
    }
  }
  await db.close();
  process.stdout.write(`${JSON.stringify({ acked, conflicts, retryable })}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.stack ?? String(err)}\n`);
  process.exit(1);
});
