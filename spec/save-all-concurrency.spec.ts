import { expect } from 'chai';
import * as path from 'node:path';
import { forEachDialect } from './support/for-each-dialect';
import { runWorkers } from './support/worker-processes';
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
        const results = await runWorkers<WorkerResult>(WORKER, PROCESSES, { url: d.url, table, kind: kind.name, ids, operations: OPERATIONS, atomic });
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
