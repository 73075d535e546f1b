import { expect } from 'chai';
import { isChanged, UsageError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';

class Boom extends Error {}

// AutoIncVersionField reuses version numbers, which is what makes a version
// read inside a rolled-back transaction dangerous.
const AUTO_INC = VERSION_KINDS.find((k) => k.name === 'AutoIncVersionField')!;

forEachDialect('instances loaded inside a transaction', (d) => {
  const table = 'trx_loads';
  let Product: ReturnType<typeof productModel>;

  beforeEach(async () => {
    await createProductTable(d.knex, table, AUTO_INC);
    Product = productModel(d.db, table, AUTO_INC);
  });

  const loaders = {
    'get()': (id: number) => Product.get(id),
    'query()': async (id: number) => (await Product.query().where('id', id))[0]!,
  };

  for (const [how, load] of Object.entries(loaders)) {
    it(`loaded with ${how} in a transaction that rolled back, must be refreshed before it writes: its version may never have been committed`, async () => {
      const p = await Product.create({ name: 'committed' });
      let inside!: InstanceType<typeof Product>;
      await rejection(
        d.db.transaction(async (trx) => {
          await trx(table).where({ id: p.id }).update({ name: 'never committed', version: d.knex.raw('version + 1') });
          inside = await load(p.id);
          expect(inside.version).to.equal(p.version + 1);
          throw new Boom('roll back');
        }),
        Boom,
      );
      // Someone else now commits a change that reaches the same version number.
      const other = await Product.get(p.id);
      other.name = 'committed by someone else';
      await other.save();
      expect(other.version).to.equal(inside.version);

      inside.stock = 5;
      expect(await isChanged(inside)).to.equal(true);
      const err = await rejection(inside.save(), UsageError);
      expect(err.message).to.match(/refresh\(\)/);
      await rejection(inside.delete(), UsageError);
      const row = await d.knex(table).where({ id: p.id }).first();
      expect(row.name).to.equal('committed by someone else');
      expect(row.stock).to.equal(0);

      await inside.refresh();
      expect(inside.name).to.equal('committed by someone else');
      inside.stock = 5;
      await inside.save();
      expect((await d.knex(table).where({ id: p.id }).first()).stock).to.equal(5);
    });

    it(`loaded with ${how} in a transaction that committed, saves as usual`, async () => {
      const p = await Product.create({ name: 'x' });
      const inside = await d.db.transaction(() => load(p.id));
      inside.stock = 3;
      await inside.save();
      expect((await d.knex(table).where({ id: p.id }).first()).stock).to.equal(3);
    });
  }

  it('loaded and then saved in a transaction that rolled back: its values from the load are back, and it must be refreshed', async () => {
    const p = await Product.create({ name: 'x', stock: 1 });
    let inside!: InstanceType<typeof Product>;
    await rejection(
      d.db.transaction(async () => {
        inside = await Product.get(p.id);
        inside.stock = 2;
        await inside.save();
        throw new Boom('roll back');
      }),
      Boom,
    );
    expect(inside.version).to.equal(p.version);
    expect(inside.stock).to.equal(2);
    await rejection(inside.save(), UsageError);
    await inside.refresh();
    expect(inside.stock).to.equal(1);
  });

  it('a query built outside a transaction and awaited inside it runs in the transaction', async () => {
    const p = await Product.create({ name: 'x' });
    const query = Product.query().where('name', 'x');
    const txIds: unknown[] = [];
    const listener = (q: { sql: string; __knexTxId?: unknown }) => {
      if (/^select/i.test(q.sql)) txIds.push(q.__knexTxId);
    };
    d.knex.on('query', listener);
    try {
      const found = await d.db.transaction(async (trx) => {
        await trx(table).where({ id: p.id }).update({ stock: 9 });
        return query;
      });
      // It saw the transaction's own uncommitted write.
      expect(found.map((f) => f.stock)).to.deep.equal([9]);
    } finally {
      d.knex.off('query', listener);
    }
    expect(txIds).to.have.length(1);
    expect(txIds[0]).not.to.equal(undefined);
  });
});
