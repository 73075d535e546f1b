import { expect } from 'chai';
import { addVersionColumn, AutoField, AutoIncVersionField, CharField, FloatField, Model } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { createEverythingTable, everythingModel } from './support/models';
import { recreateTable } from './support/schema';

// get() reads rows as objects keyed through column aliases; query() reads
// them as arrays where the driver offers that (PostgreSQL, MySQL) and builds
// the values itself. Both must give the same instance, field for field.
forEachDialect('rows read by get() and by query() hydrate alike', (d) => {
  const table = 'row_forms';
  let Thing: ReturnType<typeof everythingModel>;

  beforeEach(async () => {
    await createEverythingTable(d.knex, table);
    Thing = everythingModel(d.db, table);
  });

  it('every field type, nulls and renamed columns included', async () => {
    const full = await Thing.create({
      title: 'Title',
      body: 'long text',
      count: -42,
      ratio: 0.125,
      active: false,
      at: new Date('2024-02-29T12:34:56.789Z'),
      data: { tags: ['a', 'b'], nested: { n: 1.5, ok: true, none: null } },
      order: 3,
      selected: 'sel',
    });
    const sparse = await Thing.create({ title: 'nulls' });
    for (const t of [full, sparse]) {
      const viaGet = await Thing.get(t.id);
      const [viaAll] = await Thing.query().where('id', t.id);
      const viaFirst = await Thing.query().where({ id: t.id }).first();
      expect(viaAll!.toJSON()).to.deep.equal(viaGet.toJSON());
      expect(viaFirst!.toJSON()).to.deep.equal(viaGet.toJSON());
      expect(viaAll!.toJSON()).to.deep.equal(t.toJSON());
      expect(viaAll!.at === null || viaAll!.at instanceof Date).to.equal(true);
    }
  });

  // A property name is one identifier when it becomes a column alias, even
  // with a dot in it: only a table name is split, as schema.table.
  it('property names with a dot, quotes or non-ASCII letters, on columns with quotes, read and write alike', async () => {
    const odd = 'row_forms_odd_names';
    await recreateTable(d.knex, odd, (t) => {
      t.increments('id');
      t.double('price_net').notNullable();
      t.string('it\'s "odd"', 20).notNullable();
      addVersionColumn(t);
    });
    const dotted = 'price.net';
    const quoted = 'ünï "q" \'x\'';
    class Odd extends Model {
      static table = odd;
      static fields = {
        id: new AutoField(),
        [dotted]: new FloatField({ column: 'price_net' }),
        [quoted]: new CharField({ maxLength: 20, column: 'it\'s "odd"' }),
        version: new AutoIncVersionField(),
      };
    }
    Odd.bind(d.db);
    const values = (o: Model) => o as unknown as Record<string, unknown>;
    const created = await Odd.create({ [dotted]: 1.5, [quoted]: 'v' } as never);
    const viaGet = await Odd.get(values(created).id);
    expect(viaGet.toJSON()).to.deep.equal(created.toJSON());
    values(viaGet)[dotted] = 2.5;
    await viaGet.save();
    const [viaQuery] = await Odd.query().where(dotted, 2.5);
    expect(viaQuery!.toJSON()).to.deep.equal({ id: values(created).id, [dotted]: 2.5, [quoted]: 'v', version: (values(created).version as number) + 1 });
    await created.refresh();
    expect(created.toJSON()).to.deep.equal(viaQuery!.toJSON());
  });

  it('instances from query() save, conflict and track in-place changes like any other', async () => {
    const t = await Thing.create({ title: 'a', data: { n: 1 } });
    const [a] = await Thing.query().where('id', t.id);
    const b = await Thing.query().where('id', t.id).first();
    (a!.data as { n: number }).n = 2;
    await a!.save();
    expect(a!.version).to.equal(t.version + 1);
    b!.title = 'b';
    const err = await b!.save().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).to.equal('RecordModifiedError');
    expect((await Thing.get(t.id)).data).to.deep.equal({ n: 2 });
  });
});
