import { expect } from 'chai';
import { RecordModifiedError, UsageError, ValidationError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { countQueries } from './support/schema';

forEachDialect('Model.query()', (d) => {
  const table = 'query_products';
  let Product: ReturnType<typeof productModel>;

  beforeEach(async () => {
    await createProductTable(d.knex, table);
    Product = productModel(d.db, table, VERSION_KINDS[1]!);
    for (const [name, price, stock] of [['apple', 1.5, 10], ['banana', 0.5, 0], ['cherry', 3, 5], ['date', 3, 7]] as const) {
      await Product.create({ name, price, stock });
    }
  });

  it('resolves to model instances, filtered and ordered', async () => {
    const rows = await Product.query().where('price', '>=', 1).orderBy('name', 'desc');
    expect(rows.map((p) => p.name)).to.deep.equal(['date', 'cherry', 'apple']);
    expect(rows[0]).to.be.instanceOf(Product);
    expect(rows[0]!.version).to.equal((await Product.get(rows[0]!.id)).version);
  });

  it('supports where objects, whereIn, whereNot, orWhere, limit, offset, first and count', async () => {
    expect((await Product.query().where({ price: 3, stock: 7 })).map((p) => p.name)).to.deep.equal(['date']);
    expect((await Product.query().whereIn('name', ['apple', 'date']).orderBy('id')).map((p) => p.name)).to.deep.equal(['apple', 'date']);
    expect((await Product.query().whereNotIn('name', ['apple', 'date']).orderBy('id')).map((p) => p.name)).to.deep.equal(['banana', 'cherry']);
    expect(await Product.query().whereNot('stock', 0).count()).to.equal(3);
    expect((await Product.query().where('name', 'apple').orWhere('name', 'banana').orderBy('id')).map((p) => p.name)).to.deep.equal(['apple', 'banana']);
    expect((await Product.query().orderBy('id').limit(2).offset(1)).map((p) => p.name)).to.deep.equal(['banana', 'cherry']);
    expect((await Product.query().where('name', 'like', 'ch%').first())!.name).to.equal('cherry');
    expect(await Product.query().where('name', 'nothing').first()).to.equal(undefined);
    expect(await Product.query().count()).to.equal(4);
  });

  it('instances from a query save with compare-and-swap like any other', async () => {
    const [a] = await Product.query().where('name', 'apple');
    const [b] = await Product.query().where('name', 'apple');
    a!.stock = 11;
    await a!.save();
    b!.stock = 12;
    await rejection(b!.save(), RecordModifiedError);
  });

  it('bulk update() bumps the version of every matched row, so earlier copies conflict', async () => {
    const before = await Product.query().orderBy('id');
    const n = await Product.query().where('price', 3).update({ stock: 0 });
    expect(n).to.equal(2);
    const after = await Product.query().orderBy('id');
    expect(after.map((p, i) => p.version - before[i]!.version)).to.deep.equal([0, 0, 1, 1]);
    const stale = before.find((p) => p.name === 'cherry')!;
    stale.name = 'stale';
    await rejection(stale.save(), RecordModifiedError);
    const untouched = before.find((p) => p.name === 'apple')!;
    untouched.name = 'fine';
    await untouched.save();
  });

  it('bulk update() counts matched rows even when values do not change', async () => {
    expect(await Product.query().where('stock', 0).update({ stock: 0 })).to.equal(1);
  });

  it('bulk delete() removes matching rows and returns the count', async () => {
    expect(await Product.query().where('price', '<', 2).delete()).to.equal(2);
    expect(await Product.query().count()).to.equal(2);
  });

  it('refuses bad names, operators and values before any SQL', async () => {
    const { count } = await countQueries(d.knex, async () => {
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      expect(() => Product.query().where('nme', 'x')).to.throw(ValidationError);
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      expect(() => Product.query().where({ nme: 'x' })).to.throw(ValidationError);
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      expect(() => Product.query().orderBy('nme')).to.throw(ValidationError);
      expect(() => Product.query().orderBy('name', 'sideways' as 'asc')).to.throw(ValidationError);
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      expect(() => Product.query().where('stock', '1 OR 1=1')).to.throw(ValidationError);
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      expect(() => Product.query().where('stock', { $gt: 1 })).to.throw(ValidationError);
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      expect(() => Product.query().where('name', ['a'])).to.throw(ValidationError);
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      expect(() => Product.query().where('name', 'is not', 'x')).to.throw(ValidationError);
      expect(() => Product.query().where('stock', Number.NaN)).to.throw(ValidationError);
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      expect(() => Product.query().whereIn('stock', [1, 'two'])).to.throw(ValidationError);
      expect(() => Product.query().limit(-1)).to.throw(UsageError);
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      await rejection(Product.query().update({ nme: 'x' }), ValidationError);
      await rejection(Product.query().update({ name: 'x'.repeat(101) }), ValidationError);
      await rejection(Product.query().update({ version: 5 }), ValidationError);
      await rejection(Product.query().limit(1).update({ stock: 1 }), UsageError);
      await rejection(Product.query().limit(1).delete(), UsageError);
    });
    expect(count).to.equal(0);
  });
});
