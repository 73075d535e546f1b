import { expect } from 'chai';
import { productModel, createProductTable, VERSION_KINDS } from './support/models';
import { forEachDialect } from './support/for-each-dialect';

// db.primary(fn) on one server: nothing to route, so it only runs fn; the
// routing itself is specified on the replica cluster (topology-replicas).
forEachDialect('db.primary(fn) on a single database', (d) => {
  const TABLE = 'primary_scope_products';

  it('runs fn and resolves its value (sync or async), rejects with its error, and reads as usual inside', async () => {
    await createProductTable(d.knex, TABLE, VERSION_KINDS[0]);
    const Product = productModel(d.db, TABLE, VERSION_KINDS[0]!);
    const p = await Product.create({ name: 'lamp', stock: 2 });
    expect(await d.db.primary(() => 7)).to.equal(7);
    expect(await d.db.primary(async () => (await Product.get(p.id)).stock)).to.equal(2);
    expect(await d.db.primary(() => d.db.primary(() => Product.query().where({ id: p.id }).count()))).to.equal(1);
    const boom = new Error('boom');
    const thrown = await d.db.primary(() => {
      throw boom;
    }).then(() => undefined, (e: unknown) => e);
    expect(thrown).to.equal(boom);
    expect(await d.db.transaction(() => d.db.primary(() => Product.get(p.id)))).to.have.property('stock', 2);
    await d.knex.schema.dropTable(TABLE);
  });
});
