import { expect } from 'chai';
import knexFactory, { Knex } from 'knex';
import { connect, Database } from '../lib';
import { configForUrl } from '../lib/dialects/adapter-for';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';

interface TarnPool {
  numUsed(): number;
  numFree(): number;
  numPendingAcquires(): number;
}

const poolOf = (db: Database): TarnPool => (db.knex.client as unknown as { pool: TarnPool }).pool;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A statement of the library keeps its connection for the library's next
 * statement until the event loop turns (lib/connection-lease.ts). Attacked
 * here with a pool of one, where a connection kept too long would starve
 * everyone else.
 */
forEachDialect('the connection a save keeps for the next statement', (d) => {
  const table = 'lease_products';
  const kind = VERSION_KINDS[1]!;
  let db: Database;

  beforeEach(async () => {
    await createProductTable(d.knex, table);
    db = connect({ ...configForUrl(d.url), pool: { min: 1, max: 1 } });
  });

  afterEach(() => db.close());

  it('goes back to the pool when the event loop turns: an idle application holds no connection', async () => {
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'a' });
    for (let i = 0; i < 20; i++) {
      p.stock = i;
      await p.save();
    }
    await turn();
    expect([poolOf(db).numUsed(), poolOf(db).numPendingAcquires()]).to.deep.equal([0, 0]);
  });

  it('is handed over at once to a query of your own, a transaction and Knex, with a pool of one, while saves keep coming', async () => {
    const Product = productModel(db, table, kind);
    const items = await Promise.all([0, 1, 2, 3].map((i) => Product.create({ name: `p${i}` })));
    let stop = false;
    const loops = items.map(async (item) => {
      let n = 0;
      while (!stop) {
        item.stock = ++n;
        await item.save();
      }
      return n;
    });
    // Each of these must get the one connection between two saves, never wait for the loops to end.
    const started = Date.now();
    const rows = await db.knex(table).count({ n: '*' });
    const inTransaction = await db.transaction(async () => (await Product.get(items[0]!.id)).name);
    const viaKnex = await db.knex.transaction(async (trx) => (await trx(table).where({ id: items[1]!.id }).first()).name);
    const waited = Date.now() - started;
    stop = true;
    const saves = await Promise.all(loops);
    expect(Number((rows[0] as { n: unknown }).n)).to.equal(4);
    expect([inTransaction, viaKnex]).to.deep.equal(['p0', 'p1']);
    expect(saves.every((n) => n > 0)).to.equal(true);
    // Generous: a starved caller would wait for the pool's acquire timeout (60 s).
    expect(waited).to.be.below(10_000);
    for (const [i, item] of items.entries()) {
      const row = await d.knex(table).where({ id: item.id }).first();
      expect([Number(row.stock), Number(row.version)], `item ${i}`).to.deep.equal([item.stock, item.version]);
    }
  });

  it('close() right after a save, in the same turn, closes the pool without waiting for the turn to end', async () => {
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'a' });
    p.stock = 1;
    await p.save();
    expect(poolOf(db).numUsed()).to.equal(1);
    await db.close();
    expect((db.knex.client as { pool?: unknown }).pool).to.equal(undefined);
    db = connect(d.url);
  });

  it("a Knex instance of yours destroyed right after a save, in the same turn, closes (the kept connection goes back when the turn ends)", async () => {
    const own = knexFactory({ ...configForUrl(d.url), pool: { min: 1, max: 1 } } as Knex.Config);
    const mine = connect(own);
    const Product = productModel(mine, table, kind);
    const p = await Product.create({ name: 'a' });
    p.stock = 1;
    await p.save();
    await own.destroy();
    expect((own.client as { pool?: unknown }).pool).to.equal(undefined);
    await mine.close();
  });

  it('a connection a statement failed on is not kept: it goes back to the pool at once, which validates it before lending it again', async () => {
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'a' });
    const q = await Product.create({ name: 'b' });
    expect(poolOf(db).numUsed()).to.equal(1);
    // A column dropped under the model: the database refuses the UPDATE.
    await d.knex.schema.alterTable(table, (t) => t.dropColumn('description'));
    q.description = 'gone';
    const err = await q.save().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(Error);
    expect(poolOf(db).numUsed()).to.equal(0);
    // The pool of one lends a connection again, to the library and to you.
    expect(await Product.query().count()).to.equal(2);
    expect((await db.knex(table).where({ id: p.id }).first()).name).to.equal('a');
  });
});
