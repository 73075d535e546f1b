import { execFile } from 'node:child_process';
import { connect } from '../lib';
import { createItemTable, fillItems, ITEM_COLUMNS, itemModel } from './bench-schema';

/** Heap held by N loaded rows, as plain objects and as model instances. */
export interface MemoryProbe {
  readonly rows: number;
  readonly plainBytesPerRow: number;
  readonly instanceBytesPerRow: number;
  readonly ratio: number;
}

declare const gc: (() => void) | undefined;

function heapUsed(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

/** Heap retained by what `load` resolves to, while it is still referenced. */
async function retained(load: () => Promise<unknown[]>, rows: number): Promise<number> {
  const before = heapUsed();
  const value = await load();
  const after = heapUsed();
  if (value.length !== rows) throw new Error(`loaded ${value.length} rows, expected ${rows}`);
  return after - before;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Runs in a child process started with `--expose-gc`, so the heap holds
 * nothing but this probe: loads `rows` rows three times each way and
 * compares the median heap they retain.
 */
export async function probeMemory(url: string, table: string, rows: number): Promise<MemoryProbe> {
  if (typeof gc !== 'function') throw new Error('the memory probe needs node --expose-gc');
  const db = connect(url);
  try {
    await createItemTable(db.knex, table);
    await fillItems(db.knex, table, rows);
    const Item = itemModel(db, table);
    const plain = () => db.knex(table).select(ITEM_COLUMNS) as Promise<unknown[]>;
    const instances = () => Item.query() as unknown as Promise<unknown[]>;
    await plain();
    await instances();
    const p: number[] = [];
    const i: number[] = [];
    for (let n = 0; n < 3; n++) {
      p.push(await retained(plain, rows));
      i.push(await retained(instances, rows));
    }
    await db.knex.schema.dropTableIfExists(table);
    const plainBytesPerRow = median(p) / rows;
    const instanceBytesPerRow = median(i) / rows;
    return { rows, plainBytesPerRow, instanceBytesPerRow, ratio: instanceBytesPerRow / plainBytesPerRow };
  } finally {
    await db.close();
  }
}

/**
 * Runs the probe in a fresh child process with `--expose-gc`, so the
 * bench's own allocations do not blur a measurement of a few megabytes.
 */
export function measureMemory(url: string, table: string, rows: number): Promise<MemoryProbe> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', __filename, url, table, String(rows)], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`memory probe failed: ${stderr.trim() || err.message}`));
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop()!) as MemoryProbe);
      } catch {
        reject(new Error(`memory probe printed no result: ${stdout}`));
      }
    });
  });
}

// The child process's entry point.
if (require.main === module) {
  const [url, table, rows] = process.argv.slice(2);
  probeMemory(url!, table!, Number(rows)).then(
    (result) => process.stdout.write(`${JSON.stringify(result)}\n`),
    (err: Error) => {
      process.stderr.write(`${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
