import { expect } from 'chai';
import { connect, RecordModifiedError, RetryableError, retryOnConflict } from '../lib';
import { configForUrl } from '../lib/dialects/adapter-for';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';

// A deploy that migrates while the application runs: another connection
// changes a column's type under statements the application keeps prepared
// (PostgreSQL's named statements answer "cached plan must not change result
// type", SQLSTATE 0A000, until prepared again).
forEachDialect('a column altered under a running application', (d) => {
  const table = 'altered_products';
  let Product: ReturnType<typeof productModel>;

  /** `stock` and `name` change type, from a connection of their own, as a migration would. */
  async function migrateUnderTheApp(): Promise<void> {
    const migration = d.connectAgain();
    await migration.knex.schema.alterTable(table, (t) => {
      t.bigInteger('stock').notNullable().defaultTo(0).alter();
      t.text('name').notNullable().alter();
    });
  }

  beforeEach(async () => {
    await createProductTable(d.knex, table);
    Product = productModel(d.db, table, VERSION_KINDS[1]!);
  });

  it('get(), save() and create() outside a transaction keep working: the statement is prepared again and run once more', async () => {
    // A pool of one, so the statements run after the migration are the ones the connection kept.
    const db = connect({ ...configForUrl(d.url), pool: { min: 0, max: 1 } });
    try {
      const Own = productModel(db, table, VERSION_KINDS[1]!);
      const p = await Own.create({ name: 'kept', stock: 1 });
      const before = await Own.get(p.id);
      await migrateUnderTheApp();
      const stale: string[] = [];
      const listener = (err: { code?: string }): void => void stale.push(String(err.code));
      db.knex.on('query-error', listener);
      try {
        const loaded = await Own.get(p.id);
        expect(loaded.stock).to.equal(1);
        before.stock = 2;
        loaded.stock = 3;
        await loaded.save(); // the first writer wins...
        await rejection(before.save(), RecordModifiedError); // ...and the check still holds
        expect((await Own.get(p.id)).stock).to.equal(3);
        expect((await Own.create({ name: 'after', stock: 2 ** 40 })).stock).to.equal(2 ** 40);
      } finally {
        db.knex.off('query-error', listener);
      }
      // The attack really happened where it can: PostgreSQL refused a stale plan (0A000) and a stale
      // parameter type (22003, the INSERT's integer stock), and the library ran them again. Elsewhere nothing failed.
      expect([...new Set(stale)].sort()).to.deep.equal(d.pick({ sqlite: [], postgres: ['0A000', '22003'], mysql: [] }));
    } finally {
      await db.close();
    }
  });

  it('inside a transaction, where re-running one statement is not possible, it is a RetryableError and retryOnConflict() runs the transaction again', async () => {
    // A pool of one, so the transaction meets the statement the connection kept.
    const db = connect({ ...configForUrl(d.url), pool: { min: 0, max: 1 } });
    try {
      const Own = productModel(db, table, VERSION_KINDS[1]!);
      const p = await Own.create({ name: 'in trx', stock: 1 });
      await db.transaction(async () => {
        await Own.get(p.id);
      });
      await migrateUnderTheApp();
      let runs = 0;
      const errors: unknown[] = [];
      await retryOnConflict(() =>
        db.transaction(async () => {
          runs++;
          try {
            const x = await Own.get(p.id);
            x.stock += 1;
            await x.save();
          } catch (err) {
            errors.push(err);
            throw err;
          }
        }),
      );
      expect((await Own.get(p.id)).stock).to.equal(2);
      // PostgreSQL aborted the transaction at the stale statement: one more run. Elsewhere nothing fails.
      expect(runs).to.equal(d.pick({ sqlite: 1, postgres: 2, mysql: 1 }));
      expect(errors).to.have.length(runs - 1);
      for (const e of errors) {
        expect(e).to.be.instanceOf(RetryableError);
        expect((e as RetryableError).reason).to.equal('schema-changed');
        expect((e as RetryableError).message).to.match(/prepared again on the next run/);
      }
    } finally {
      await db.close();
    }
  });
});
