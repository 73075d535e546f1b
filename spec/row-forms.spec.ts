import { expect } from 'chai';
import { forEachDialect } from './support/for-each-dialect';
import { createEverythingTable, everythingModel } from './support/models';

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

  it('instances from query() save, conflict and track in-place changes like any other', async () => {
    const t = await Thing.create({ title: 'a', data: { n: 1 } });
    const [a] = await Thing.query().where('id', t.id);
    const b = await Thing.query().where('id', t.id).first();
    (a!.data as { n: number }).n = 2;
    await a!.save();
    expect(a!.version).to.equal(2);
    b!.title = 'b';
    const err = await b!.save().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).to.equal('RecordModifiedError');
    expect((await Thing.get(t.id)).data).to.deep.equal({ n: 2 });
  });
});
