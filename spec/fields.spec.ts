import { expect } from 'chai';
import { ValidationError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createEverythingTable, everythingModel } from './support/models';
import { countQueries } from './support/schema';

type Bad = [field: string, value: unknown, why: string];

// Each is refused with a ValidationError naming the field, before any SQL.
const BAD_VALUES: Bad[] = [
  ['count', '1', 'a string for an integer'],
  ['count', 1.5, 'a fraction for an integer (MySQL would store 2)'],
  ['count', Number.NaN, 'NaN'],
  ['count', Number.POSITIVE_INFINITY, 'Infinity'],
  ['count', 2 ** 53, 'an unsafe integer'],
  ['count', {}, 'an object'],
  ['ratio', Number.NEGATIVE_INFINITY, '-Infinity for a float'],
  ['ratio', '0.5', 'a string for a float'],
  ['title', { toString: () => 'x' }, 'an object for a string'],
  ['title', ['a'], 'an array for a string'],
  ['title', 'x'.repeat(11), 'a string over maxLength'],
  ['title', '😀'.repeat(11), 'eleven emoji for maxLength 10 (counted in characters)'],
  ['title', null, 'null for a non-null field'],
  ['title', undefined, 'undefined'],
  ['title', Symbol('s'), 'a symbol'],
  ['title', () => 'f', 'a function'],
  ['active', 1, 'a number for a boolean'],
  ['active', 'true', 'a string for a boolean'],
  ['at', 'yesterday', 'a non-date string for a date'],
  ['at', new Date(Number.NaN), 'an invalid Date'],
  ['data', { f: () => 1 }, 'a function inside JSON'],
  ['data', { n: Number.NaN }, 'NaN inside JSON'],
  ['data', new Map(), 'a Map as JSON'],
  ['data', 10n, 'a bigint as JSON'],
];

forEachDialect('fields: values, validation, identifiers', (d) => {
  const table = 'fields_everything';
  let Thing: ReturnType<typeof everythingModel>;

  beforeEach(async () => {
    await createEverythingTable(d.knex, table);
    Thing = everythingModel(d.db, table);
  });

  it('round-trips every field type', async () => {
    const at = new Date('2024-02-29T12:34:56.789Z');
    const data = { tags: ['a', 'b'], nested: { n: 1.5, ok: true, none: null } };
    const t = await Thing.create({ title: 'Title', body: 'long text', count: -42, ratio: 0.125, active: false, at, data, order: 3, selected: 'sel' });
    const u = await Thing.get(t.id);
    expect(u.title).to.equal('Title');
    expect(u.body).to.equal('long text');
    expect(u.count).to.equal(-42);
    expect(u.ratio).to.equal(0.125);
    expect(u.active).to.equal(false);
    expect(u.at).to.be.instanceOf(Date);
    expect(u.at!.getTime()).to.equal(at.getTime());
    expect(u.data).to.deep.equal(data);
    expect(u.order).to.equal(3);
    expect(u.selected).to.equal('sel');
    expect(u.version).to.equal(t.version);
    expect(u.toJSON()).to.deep.equal(t.toJSON());
  });

  it('nullable fields store null; defaults fill the rest', async () => {
    const t = await Thing.create({ title: 'n' });
    const u = await Thing.get(t.id);
    expect(u.body).to.equal(null);
    expect(u.ratio).to.equal(null);
    expect(u.at).to.equal(null);
    expect(u.data).to.equal(null);
    expect(u.count).to.equal(0);
    expect(u.active).to.equal(true);
  });

  it('columns named after SQL keywords are quoted (order, select)', async () => {
    const t = await Thing.create({ title: 'kw', order: 7, selected: 'yes' });
    t.order = 8;
    t.selected = 'no';
    await t.save();
    const row = await d.knex(table).where({ id: t.id }).first();
    expect(row.order).to.equal(8);
    expect(row.select).to.equal('no');
    expect(await Thing.query().where('order', 8).orderBy('order')).to.have.length(1);
  });

  it('in-place changes to JSON and Date values are saved', async () => {
    const t = await Thing.create({ title: 'm', data: { tags: ['a'] }, at: new Date('2020-01-01T00:00:00Z') });
    (t.data as { tags: string[] }).tags.push('b');
    t.at!.setTime(Date.parse('2021-01-01T00:00:00Z'));
    await t.save();
    const u = await Thing.get(t.id);
    expect(u.data).to.deep.equal({ tags: ['a', 'b'] });
    expect(u.at!.toISOString()).to.equal('2021-01-01T00:00:00.000Z');
    expect(u.version).to.equal(t.version);
  });

  it('maxLength counts characters, not UTF-16 units, on every dialect', async () => {
    const ten = '😀'.repeat(10);
    const t = await Thing.create({ title: ten });
    expect((await Thing.get(t.id)).title).to.equal(ten);
  });

  const sqlish = ["'; DROP TABLE fields_everything; --", 'quote \' and "double"', 'back\\slash', '100% _match_', 'emoji 😀 and rtl \u202Eabc', 'line\nbreak\ttab'];
  for (const value of sqlish) {
    it(`stores SQL-looking text byte for byte and finds exactly it: ${JSON.stringify(value)}`, async () => {
      await Thing.create({ title: 'decoy', body: 'other' });
      const t = await Thing.create({ title: 'x', body: value });
      const found = await Thing.query().where('body', value);
      expect(found.map((f) => f.id)).to.deep.equal([t.id]);
      expect(found[0]!.body).to.equal(value);
      const row = await d.knex(table).where({ id: t.id }).first();
      expect(Buffer.from(row.body, 'utf8').equals(Buffer.from(value, 'utf8'))).to.equal(true);
    });
  }

  it('says how long a string over maxLength is, once', async () => {
    const err = await rejection(Thing.create({ title: 'x'.repeat(50) }), ValidationError);
    expect(err.message).to.match(/title: a string of 50 characters, longer than maxLength 10$/);
    const short = await rejection(Thing.create({ title: '😀'.repeat(11) }), ValidationError);
    expect(short.message).to.match(/title: a string of 11 characters, longer than maxLength 10$/);
  });

  for (const [field, value, why] of BAD_VALUES) {
    it(`refuses ${why} for ${field}, naming the field, before any SQL`, async () => {
      const t = await Thing.create({ title: 'ok' });
      const { count } = await countQueries(d.knex, async () => {
        const viaAssign = await rejection(async () => {
          (t as unknown as Record<string, unknown>)[field] = value;
          await t.save();
        }, ValidationError);
        expect(viaAssign.field).to.equal(field);
        expect(viaAssign.message).to.contain(field);
        const viaCreate = await rejection(Thing.create({ title: 'ok', [field]: value } as never), ValidationError);
        expect(viaCreate.field).to.equal(field);
      });
      expect(count).to.equal(0);
      expect(await d.knex(table)).to.have.length(1);
      expect((await d.knex(table).first()).version).to.satisfy((v: unknown) => Number(v) === t.version);
    });
  }

  it('refuses unknown attributes in create() and on the instance, before any SQL', async () => {
    const t = await Thing.create({ title: 'ok' });
    const { count } = await countQueries(d.knex, async () => {
      const e1 = await rejection(Thing.create({ title: 'x', titel: 'typo' } as never), ValidationError);
      expect(e1.field).to.equal('titel');
      expect(e1.message).to.match(/unknown field/);
      (t as unknown as Record<string, unknown>).titel = 'typo';
      const e2 = await rejection(t.save(), ValidationError);
      expect(e2.field).to.equal('titel');
    });
    expect(count).to.equal(0);
  });

  it('refuses a missing required field', async () => {
    const err = await rejection(Thing.create({} as never), ValidationError);
    expect(err.field).to.equal('title');
    expect(err.message).to.match(/required/);
  });

  it('refuses passing the version to create()', async () => {
    const err = await rejection(Thing.create({ title: 'x', version: 5 } as never), ValidationError);
    expect(err.field).to.equal('version');
  });

  it('refuses changing the primary key of a saved row', async () => {
    const t = await Thing.create({ title: 'pk' });
    const err = await rejection(async () => {
      t.id = t.id + 1;
    }, ValidationError);
    expect(err.field).to.equal('id');
  });

  it('refuses a wrong-type primary key in get()', async () => {
    const { count } = await countQueries(d.knex, async () => {
      for (const pk of ['1 OR 1=1', '1', null, undefined, 1.5, {}, [1]]) {
        const err = await rejection(Thing.get(pk), ValidationError);
        expect(err.field).to.equal('id');
      }
    });
    expect(count).to.equal(0);
  });
});
