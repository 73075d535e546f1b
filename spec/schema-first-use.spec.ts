import { expect } from 'chai';
import { addVersionColumn, connect, isChanged, SchemaMismatchError, UsageError } from '../lib';
import { configForUrl } from '../lib/dialects/adapter-for';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { countQueries, recreateTable } from './support/schema';

// The check a Database runs before a model's first statement on it: a table
// that does not fit the model is a SchemaMismatchError naming the migration
// call that fixes it, never the driver's error; once it passed, nothing more.
forEachDialect('the schema check at a model’s first use', (d) => {
  const table = 'first_use_products';
  const kind = VERSION_KINDS[1]!;

  beforeEach(async () => {
    await d.knex.schema.dropTableIfExists(table);
  });

  it('a missing table is a SchemaMismatchError naming the createTable call, before any statement on it; created later, the model works', async () => {
    const Product = productModel(d.db, table, kind);
    for (const call of [() => Product.get(1), () => Product.create({ name: 'x' }), () => Product.query().where('stock', 1), () => Product.query().count()]) {
      const { result: err, sql } = await countQueries(d.knex, () => rejection(call, SchemaMismatchError));
      expect(err).to.include({ model: 'Product', table });
      expect(err.problems.map((p) => p.kind)).to.deep.equal(['missing-table']);
      expect(err.message).to.include(`knex.schema.createTable('${table}'`).and.to.include("addVersionColumn(t, 'version')").and.to.include('schemaCheck: false');
      expect(sql.join(' '), 'only the catalog was read').to.not.include(table);
    }
    // The failure was not kept: once the table exists the same model works.
    await createProductTable(d.knex, table);
    const p = await Product.create({ name: 'now' });
    expect((await Product.get(p.id)).name).to.equal('now');
  });

  it('a missing column names the alterTable call; a version column too narrow for clock versions names addVersionColumn', async () => {
    await recreateTable(d.knex, table, (t) => {
      t.increments('id');
      t.string('name', 100).notNullable();
      t.text('description').notNullable();
      t.double('price').notNullable().defaultTo(0);
      t.integer('version').notNullable().defaultTo(0);
    });
    const Product = productModel(d.db, table, kind);
    const err = await rejection(() => Product.create({ name: 'x' }), SchemaMismatchError);
    // SQLite's INTEGER holds 8 bytes, whatever the declared type.
    const narrow = d.pick({ sqlite: false, postgres: true, mysql: true });
    expect(err.problems.map((p) => [p.kind, p.column])).to.deep.equal([['missing-column', 'stock'], ...(narrow ? [['lossy-column', 'version']] : [])]);
    expect(err.problems[0]!.message).to.include(`knex.schema.alterTable('${table}', (t) => { t.integer('stock').notNullable().defaultTo(0); })`);
    if (narrow) expect(err.problems[1]!.message).to.match(/too narrow for versions/).and.to.include("addVersionColumn(t, 'version').alter()");
    expect(Number((await d.knex(table).count({ n: '*' }).first())?.n), 'nothing was inserted').to.equal(0);
  });

  it('runs once per model and database: after the first use a save runs exactly its own statements', async () => {
    await createProductTable(d.knex, table);
    const Product = productModel(d.db, table, kind);
    const first = await countQueries(d.knex, () => Product.create({ name: 'a' }));
    expect(first.count, 'the catalog read, then the insert').to.be.greaterThan(1);
    const p = first.result;
    p.name = 'b';
    expect((await countQueries(d.knex, () => p.save())).count).to.equal(d.pick(kind.saveStatements));
    expect((await countQueries(d.knex, () => Product.get(p.id))).count).to.equal(1);
    expect((await countQueries(d.knex, () => isChanged(p))).count).to.equal(1);
    // Another Database checks for itself.
    const other = d.connectAgain();
    const Again = productModel(other, table, kind);
    expect((await countQueries(other.knex, () => Again.get(p.id))).count).to.be.greaterThan(1);
  });

  it('inside a transaction it reads on the transaction’s connection (a pool of one does not wait for itself) and a mismatch leaves the transaction usable', async () => {
    const db = connect({ ...configForUrl(d.url), pool: { min: 0, max: 1 } });
    try {
      const Missing = productModel(db, 'first_use_nowhere', kind);
      await createProductTable(d.knex, table);
      const Product = productModel(db, table, kind);
      const id = await db.transaction(async () => {
        await rejection(() => Missing.get(1), SchemaMismatchError);
        // Nothing failed in the database: PostgreSQL's transaction was not aborted.
        return (await Product.create({ name: 'in trx' })).id;
      });
      expect((await Product.get(id)).name).to.equal('in trx');
    } finally {
      await db.close();
    }
  });

  it('connect(url, { schemaCheck: false }) turns it off: no catalog read, and the driver reports a missing table', async () => {
    const db = connect(d.url, { schemaCheck: false });
    try {
      const Product = productModel(db, table, kind);
      const err = await Product.get(1).then(() => undefined, (e: unknown) => e);
      expect(err).to.be.instanceOf(Error).and.not.to.be.instanceOf(SchemaMismatchError);
      await createProductTable(d.knex, table);
      expect((await countQueries(db.knex, () => Product.create({ name: 'unchecked' }))).count).to.equal(1);
    } finally {
      await db.close();
    }
    expect(() => connect(d.url, { schemaCheck: 'no' as never })).to.throw(UsageError, /schemaCheck is true or false/);
  });

  // Only PostgreSQL resolves unqualified names through a search path of several schemas.
  const other = d.pick({ sqlite: undefined, mysql: undefined, postgres: 'kc_first_use_other' });
  if (other !== undefined) it('a table found through the search_path (a schema after the current one) passes', async () => {
    await d.knex.raw(`DROP SCHEMA IF EXISTS "${other}" CASCADE`);
    await d.knex.raw(`CREATE SCHEMA "${other}"`);
    const db = connect({ ...configForUrl(d.url), searchPath: ['public', other] });
    try {
      await createProductTable(d.knex, `${other}.${table}`);
      const Product = productModel(db, table, kind);
      const p = await Product.create({ name: 'elsewhere' });
      expect((await Product.get(p.id)).name).to.equal('elsewhere');
    } finally {
      await db.close();
      await d.knex.raw(`DROP SCHEMA "${other}" CASCADE`);
    }
  });

  it('a version column added later by a migration is found at the next call', async () => {
    await recreateTable(d.knex, table, (t) => {
      t.increments('id');
      t.string('name', 100).notNullable();
      t.text('description').notNullable();
      t.double('price').notNullable().defaultTo(0);
      t.integer('stock').notNullable().defaultTo(0);
    });
    const Product = productModel(d.db, table, kind);
    const err = await rejection(() => Product.get(1), SchemaMismatchError);
    expect(err.problems.map((p) => p.column)).to.deep.equal(['version']);
    await d.knex.schema.alterTable(table, (t) => {
      addVersionColumn(t);
    });
    expect((await Product.create({ name: 'versioned' })).version).to.be.a('number');
  });
});
