import { expect } from 'chai';
import { UsageError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createEverythingTable, everythingModel } from './support/models';
import { countQueries } from './support/schema';

class Boom extends Error {}

// An instance keeps its lifecycle state and its dirty-tracking baseline in
// one compact slot; these pin every transition of the two together.
forEachDialect('instance state and dirty-tracking baseline', (d) => {
  const table = 'state_things';
  let Thing: ReturnType<typeof everythingModel>;

  beforeEach(async () => {
    await createEverythingTable(d.knex, table);
    Thing = everythingModel(d.db, table);
  });

  const saveCount = async (t: { save(): Promise<void> }) => (await countQueries(d.knex, () => t.save())).count;

  it('loaded in bulk, each instance has its own baseline: only the one changed in place is written', async () => {
    for (let i = 0; i < 3; i++) await Thing.create({ title: `t${i}`, data: { n: i }, at: new Date(Date.UTC(2020, 0, i + 1)) });
    const all = await Thing.query().orderBy('id');
    (all[1]!.data as { n: number }).n = 10;
    const counts = [];
    for (const t of all) counts.push(await saveCount(t));
    expect(counts).to.deep.equal([0, 1, 0]);
    expect(await saveCount(all[1]!)).to.equal(0);
    all[2]!.at!.setTime(Date.UTC(2021, 5, 1));
    expect(await saveCount(all[2]!)).to.equal(1);
  });

  it('an assignment back to the loaded value is no change', async () => {
    const t = await Thing.create({ title: 'a', count: 1 });
    const u = await Thing.get(t.id);
    u.count = 2;
    u.count = 1;
    expect(await saveCount(u)).to.equal(0);
    u.title = 'b';
    expect(await saveCount(u)).to.equal(1);
    expect(await saveCount(u)).to.equal(0);
  });

  it('a delete rolled back restores the baseline: in-place changes are detected again', async () => {
    const t = await Thing.create({ title: 'd', data: { tags: ['a'] } });
    await rejection(
      d.db.transaction(async () => {
        await t.delete();
        throw new Boom('rollback');
      }),
      Boom,
    );
    expect(await saveCount(t)).to.equal(0);
    (t.data as { tags: string[] }).tags.push('b');
    expect(await saveCount(t)).to.equal(1);
    expect((await Thing.get(t.id)).data).to.deep.equal({ tags: ['a', 'b'] });
  });

  it('a create rolled back is new again; once inserted, in-place changes are tracked from the insert', async () => {
    let t: InstanceType<typeof Thing> | undefined;
    await rejection(
      d.db.transaction(async () => {
        t = await Thing.create({ title: 'n', data: { v: 1 } });
        throw new Boom('rollback');
      }),
      Boom,
    );
    await rejection(t!.delete(), UsageError);
    (t!.data as { v: number }).v = 2;
    const { sql } = await countQueries(d.knex, () => t!.save());
    expect(sql).to.have.length(1);
    expect(sql[0]).to.match(/^insert/i);
    expect(await saveCount(t!)).to.equal(0);
    (t!.data as { v: number }).v = 3;
    expect(await saveCount(t!)).to.equal(1);
  });

  it('a deleted instance stays deleted: no save, delete or refresh', async () => {
    const t = await Thing.create({ title: 'x' });
    await t.delete();
    await rejection(t.save(), UsageError);
    await rejection(t.delete(), UsageError);
    await rejection(t.refresh(), UsageError);
    expect(t.title).to.equal('x');
  });
});
