import { expect } from 'chai';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';

const WORKER = path.join(__dirname, 'support', 'save-all-worker.js');
const PROCESSES = 4;
const OPERATIONS = 10;
const ROWS = 5;

interface WorkerResult {
  acked: Record<string, number>;
  conflicts: number;
  retryable: number;
}

/** Starts `count` worker processes, waits until all are connected, starts them together, and collects their results. */
async function runWorkers(count: number, config: object): Promise<WorkerResult[]> {
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const results: Promise<WorkerResult>[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(process.execPath, [WORKER, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = readline.createInterface({ input: child.stdout! });
    const output: string[] = [];
    ready.push(new Promise((resolve) => lines.on('line', (line) => (output.push(line), line === 'ready' && resolve()))));
    results.push(
      new Promise((resolve, reject) =>
        child.on('close', (code) => {
          if (code !== 0) return reject(new Error(`worker ${i} exited with ${code}: ${stderr}`));
          resolve(JSON.parse(output[output.length - 1]!) as WorkerResult);
        }),
      ),
    );
  }
  try {
    await Promise.race([Promise.all(ready), Promise.all(results)]);
    for (const child of children) child.stdin!.write('go\n');
    return await Promise.all(results);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}

/**
 * Several operating-system processes batch-increment the same hot rows with
 * saveAll(): every acknowledged increment must be in its row (no lost
 * update), and each row's version must have moved once per increment.
 */
forEachDialect('saveAll() under real concurrency: several processes, no lost update', (d) => {
  for (const kind of VERSION_KINDS.filter((k) => k.name !== 'IntegerVersionField')) {
    for (const atomic of [true, false]) {
      it(`${kind.name}, atomic ${atomic}: ${PROCESSES} processes x ${OPERATIONS} batches of ${ROWS} hot rows`, async function () {
        this.timeout(120_000);
        const table = `save_all_stress_${kind.name.toLowerCase()}`;
        await createProductTable(d.knex, table, kind);
        const Product = productModel(d.db, table, kind);
        const rows = await Product.createAll(Array.from({ length: ROWS }, (_, i) => ({ name: `hot ${i}`, stock: 0 })));
        const ids = rows.map((r) => r.id);
        const results = await runWorkers(PROCESSES, { url: d.url, table, kind: kind.name, ids, operations: OPERATIONS, atomic });
        const after = await d.knex(table).whereIn('id', ids).orderBy('id');
        for (const [i, row] of after.entries()) {
          const acked = results.reduce((sum, r) => sum + r.acked[String(ids[i])]!, 0);
          expect(acked, 'every batch ended acknowledged').to.equal(PROCESSES * OPERATIONS);
          expect(row.stock, `row ${ids[i]}: stock = acknowledged increments`).to.equal(acked);
          expect(Number(row.version) - rows[i]!.version, `row ${ids[i]}: one version per increment`).to.equal(acked);
        }
        const contended = results.reduce((sum, r) => sum + r.conflicts + r.retryable, 0);
        expect(contended, 'the processes really contended').to.be.greaterThan(0);
      });
    }
  }
});
