import { expect } from 'chai';
import * as path from 'node:path';
import { RecordModifiedError, retryOnConflict } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { runWorkers } from './support/worker-processes';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';

const TRIGGER_KIND = VERSION_KINDS.find((k) => k.name === 'TriggerVersionField')!;
const WORKER = path.join(__dirname, 'support', 'trigger-save-worker.js');
const PROCESSES = 4;
const OPERATIONS = 25;

interface WorkerResult {
  acked: number;
  conflicts: number;
}


forEachDialect('TriggerVersionField under real concurrency', (d) => {
  const table = 'trigger_concurrency';
  let Product: ReturnType<typeof productModel>;

  beforeEach(async () => {
    await createProductTable(d.knex, table, TRIGGER_KIND);
    Product = productModel(d.db, table, TRIGGER_KIND);
  });

  it('25 concurrent workers x 4 retryOnConflict increments on a pool of connections end at exactly 100', async () => {
    const p = await Product.create({ name: 'counter', stock: 0 });
    const connections = new Set<unknown>();
    const listener = (q: { __knexUid?: unknown; sql: string }) => {
      if (/^update/i.test(q.sql)) connections.add(q.__knexUid);
    };
    d.knex.on('query', listener);
    let conflicts = 0;
    const worker = async () => {
      for (let i = 0; i < 4; i++) {
        await retryOnConflict(
          async () => {
            const c = await Product.get(p.id);
            c.stock += 1;
            await c.save().catch((err) => {
              if (err instanceof RecordModifiedError) conflicts++;
              throw err;
            });
          },
          { attempts: 1000, delayMs: () => Math.random() * 5 },
        );
      }
    };
    try {
      await Promise.all(Array.from({ length: 25 }, worker));
    } finally {
      d.knex.off('query', listener);
    }
    const row = await d.knex(table).where({ id: p.id }).first();
    expect(row.stock).to.equal(100);
    // Every save raised the version by exactly one, conflicts raised nothing.
    expect(Number(row.version)).to.equal(p.version + 100);
    expect(conflicts, 'the workers really contended').to.be.greaterThan(0);
    expect(connections.size, 'updates ran on several connections').to.be.greaterThan(1);
  });

  it(`${PROCESSES} processes x ${OPERATIONS} save-then-save-again operations lose no acknowledged write`, async () => {
    const p = await Product.create({ name: 'shared', stock: 0 });
    const results = await runWorkers<WorkerResult>(WORKER, PROCESSES, { url: d.url, table, id: p.id, operations: OPERATIONS, racy: false });
    const acked = results.reduce((n, r) => n + r.acked, 0);
    const row = await d.knex(table).where({ id: p.id }).first();
    expect(acked).to.be.at.least(PROCESSES * OPERATIONS);
    expect(row.stock, `${acked} acknowledged increments`).to.equal(acked);
    expect(Number(row.version)).to.equal(p.version + acked);
  });

  it('the same harness catches the writes a read-back after commit loses (the test can fail)', async () => {
    const p = await Product.create({ name: 'shared', stock: 0 });
    const results = await runWorkers<WorkerResult>(WORKER, PROCESSES, { url: d.url, table, id: p.id, operations: OPERATIONS, racy: true });
    const acked = results.reduce((n, r) => n + r.acked, 0);
    const row = await d.knex(table).where({ id: p.id }).first();
    const lost = acked - row.stock;
    if (process.env.KC_REPORT_RACY === '1') console.log(`      racy read-back on ${d.name}: ${acked} acknowledged, ${row.stock} applied, ${lost} lost`);
    expect(lost, 'acknowledged increments that the racy read-back lost').to.be.greaterThan(0);
  });
});
