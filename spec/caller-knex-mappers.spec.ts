import { expect } from 'chai';
import knexFactory, { Knex } from 'knex';
import { addVersionColumn, AutoField, CharField, connect, Database, FloatField, IntegerField, IntegerVersionField, isChanged, Model } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { recreateTable } from './support/schema';

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
const camel = (s: string) => s.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const camelKeys = (r: unknown): unknown =>
  r !== null && typeof r === 'object' && !Array.isArray(r) && !(r instanceof Date) && !Buffer.isBuffer(r)
    ? Object.fromEntries(Object.entries(r).map(([k, v]) => [camel(k), v]))
    : r;

/**
 * The mappers an application that writes camelCase over a snake_case schema
 * puts in its knexfile (as Objection's knexSnakeCaseMappers does): every
 * identifier Knex writes goes to snake_case, every row key it returns to
 * camelCase.
 */
const mappers = {
  wrapIdentifier: (value: string, impl: (v: string) => string) => impl(value === '*' ? value : snake(value)),
  postProcessResponse: (result: unknown) => (Array.isArray(result) ? result.map(camelKeys) : camelKeys(result)),
};

function callerConfig(name: string, url: string): Knex.Config {
  if (name === 'sqlite') return { client: 'sqlite3', connection: { filename: url.replace(/^sqlite:/, '') }, useNullAsDefault: true, ...mappers };
  if (name === 'postgres') return { client: 'pg', connection: url, ...mappers };
  const u = new URL(url);
  return { client: 'mysql2', connection: { host: u.hostname, port: Number(u.port), user: u.username, password: u.password, database: u.pathname.slice(1) }, ...mappers };
}

/**
 * A caller's Knex instance with key-renaming hooks: the library's own
 * statements (loads, counts and writes alike) never pass through the
 * caller's postProcessResponse, and its aliases are its own (the caller's
 * wrapIdentifier maps the columns it names, never the property names it
 * reads rows by); the caller's own queries keep both hooks.
 */
forEachDialect('a Knex instance the caller built with camelCase mappers (wrapIdentifier + postProcessResponse)', (d) => {
  const table = 'mapped_items';
  let knex: Knex;
  let db: Database;

  class Item extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      itemName: new CharField({ maxLength: 50, column: 'item_name' }),
      unitPrice: new FloatField({ column: 'unit_price', default: 0 }),
      stockCount: new IntegerField({ column: 'stock_count', default: 0 }),
      rowVersion: new IntegerVersionField({ column: 'row_version' }),
    };
    declare id: number;
    declare itemName: string;
    declare unitPrice: number;
    declare stockCount: number;
    declare rowVersion: number;
  }

  beforeEach(async () => {
    await recreateTable(d.knex, table, (t) => {
      t.increments('id');
      t.string('item_name', 50).notNullable();
      t.double('unit_price').notNullable().defaultTo(0);
      t.integer('stock_count').notNullable().defaultTo(0);
      addVersionColumn(t, 'row_version');
    });
    knex = knexFactory(callerConfig(d.name, d.url));
    db = connect(knex);
    Item.bind(db);
  });

  afterEach(async () => {
    await db.close();
    await knex.destroy();
  });

  it('create, get, save, refresh, isChanged and delete work', async () => {
    const a = await Item.create({ itemName: 'lamp', unitPrice: 9.5, stockCount: 3 });
    expect(a.id).to.be.a('number');
    const got = await Item.get(a.id);
    expect({ itemName: got.itemName, unitPrice: got.unitPrice, stockCount: got.stockCount }).to.deep.equal({ itemName: 'lamp', unitPrice: 9.5, stockCount: 3 });
    expect(got.rowVersion).to.equal(a.rowVersion);
    got.stockCount = 4;
    await got.save();
    expect(await isChanged(a)).to.equal(true);
    await a.refresh();
    expect(a.stockCount).to.equal(4);
    expect(a.rowVersion).to.equal(got.rowVersion);
    expect(await isChanged(a)).to.equal(false);
    await a.delete();
    expect(await Item.query().count()).to.equal(0);
  });

  it('query().where().orderBy(), first() and count() load the rows', async () => {
    await Item.createAll([
      { itemName: 'b', unitPrice: 2, stockCount: 20 },
      { itemName: 'a', unitPrice: 1, stockCount: 10 },
      { itemName: 'c', unitPrice: 3, stockCount: 30 },
    ]);
    const cheap = await Item.query().where('unitPrice', '<', 3).orderBy('itemName');
    expect(cheap.map((i) => [i.itemName, i.unitPrice, i.stockCount])).to.deep.equal([
      ['a', 1, 10],
      ['b', 2, 20],
    ]);
    expect(cheap.every((i) => typeof i.rowVersion === 'number' && i.rowVersion > 0)).to.equal(true);
    const first = await Item.query().where({ stockCount: 30 }).first();
    expect(first?.itemName).to.equal('c');
    expect(await Item.query().where('stockCount', '>=', 20).count()).to.equal(2);
    // The loaded instances write back, checked against the versions they loaded.
    cheap[0]!.stockCount = 11;
    await cheap[0]!.save();
    expect((await Item.get(cheap[0]!.id)).stockCount).to.equal(11);
    expect(await Item.query().where('stockCount', 11).update({ unitPrice: 1.5 })).to.equal(1);
    expect(await Item.query().where('itemName', 'c').delete()).to.equal(1);
  });

  it('createAll() and saveAll() work and report conflicts by the model\'s names', async () => {
    const made = await Item.createAll([{ itemName: 'x' }, { itemName: 'y' }]);
    expect(made.map((i) => typeof i.id)).to.deep.equal(['number', 'number']);
    const loaded = await Item.query().orderBy('id');
    for (const i of loaded) i.stockCount += 5;
    await Item.saveAll(loaded);
    const again = await Item.query().orderBy('id');
    expect(again.map((i) => i.stockCount)).to.deep.equal([5, 5]);
    expect(again.map((i) => i.rowVersion)).to.deep.equal(loaded.map((i) => i.rowVersion));
  });

  it('the caller\'s own queries keep both hooks', async () => {
    const a = await Item.create({ itemName: 'own', unitPrice: 4 });
    const rows = (await knex(table).where({ itemName: 'own' }).select('id', 'itemName', 'unitPrice')) as Record<string, unknown>[];
    expect(rows).to.deep.equal([{ id: a.id, itemName: 'own', unitPrice: 4 }]);
    const [row] = (await knex(table).where({ id: a.id }).select('*')) as Record<string, unknown>[];
    expect(Object.keys(row!).sort()).to.deep.equal(['id', 'itemName', 'rowVersion', 'stockCount', 'unitPrice']);
  });
});
