import { expect } from 'chai';
import {
  AutoField,
  CharField,
  connect,
  createVersionTrigger,
  disableConcurrency,
  dropVersionTrigger,
  IntegerField,
  MissingTriggerError,
  Model,
  RecordModifiedError,
  TriggerVersionField,
  ValidationError,
  versionTriggerName,
} from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { countQueries } from './support/schema';

const TRIGGER_KIND = VERSION_KINDS.find((k) => k.name === 'TriggerVersionField')!;

// Compile-time only: the version is read-only in the instance type and not part of create()'s input.
class Typed extends Model {
  static table = 'typed';
  static fields = { id: new AutoField(), name: new CharField({ maxLength: 10 }), version: new TriggerVersionField() };
  declare id: number;
  declare name: string;
  declare readonly version: number;
}
export async function typeChecks(t: Typed): Promise<number> {
  // @ts-expect-error the database owns the version
  t.version = 3;
  // @ts-expect-error create() does not take it
  await Typed.create({ name: 'x', version: 1 });
  return t.version;
}

forEachDialect('TriggerVersionField: the database raises the version on every UPDATE', (d) => {
  const table = 'trigger_products';
  const trigger = versionTriggerName(table, 'version');
  let Product: ReturnType<typeof productModel>;

  beforeEach(async () => {
    await createProductTable(d.knex, table, TRIGGER_KIND);
    Product = productModel(d.db, table, TRIGGER_KIND);
  });

  const row = async (id: number) => d.knex(table).where({ id }).first();

  it('inserts at a clock-derived version; every raw SQL UPDATE raises it by exactly one', async () => {
    const p = await Product.create({ name: 'raw' });
    const v0 = p.version;
    expect(p.version).to.equal(v0);
    for (let i = 1; i <= 3; i++) {
      await d.knex(table).where({ id: p.id }).update({ stock: i });
      expect(Number((await row(p.id)).version)).to.equal(v0 + i);
    }
    // Several rows in one statement: each by one.
    const q = await Product.create({ name: 'other' });
    await d.knex(table).update({ price: 2 });
    expect(Number((await row(p.id)).version)).to.equal(v0 + 4);
    expect(Number((await row(q.id)).version)).to.equal(q.version + 1);
  });

  it('a raw UPDATE that writes the version itself cannot set it back (overridden, or refused where the trigger cannot override)', async () => {
    const p = await Product.create({ name: 'w' });
    const v0 = p.version;
    const outcome = d.pick({ sqlite: 'refused', postgres: 'overridden', mysql: 'overridden' });
    const write = d.knex(table).where({ id: p.id }).update({ name: 'forced', version: 77 });
    if (outcome === 'refused') {
      const err = await rejection(write, Error);
      expect(err.message).to.include(trigger);
      expect(await row(p.id)).to.include({ name: 'w' });
      expect(Number((await row(p.id)).version)).to.equal(v0);
    } else {
      await write;
      expect(await row(p.id)).to.include({ name: 'forced' });
      expect(Number((await row(p.id)).version)).to.equal(v0 + 1);
    }
    // Writing the next version explicitly (code written for AutoIncVersionField) is one bump, not two.
    await d.knex(table).where({ id: p.id }).update({ stock: 1, version: d.knex.raw('version + 1') });
    expect(Number((await row(p.id)).version)).to.equal(outcome === 'refused' ? v0 + 1 : v0 + 2);
  });

  it('bumps exactly once per UPDATE with recursive triggers on', async () => {
    // Dialect data: only SQLite's trigger updates its own table, so only there could it recurse.
    const one = connect(d.pick({ sqlite: `${d.url}?pool=1`, postgres: d.url, mysql: d.url }));
    try {
      for (const sql of d.pick({ sqlite: ['PRAGMA recursive_triggers = ON'], postgres: [], mysql: [] })) await one.knex.raw(sql);
      const P = productModel(one, table, TRIGGER_KIND);
      const p = await P.create({ name: 'rec' });
      const v0 = p.version;
      await one.knex(table).where({ id: p.id }).update({ stock: 5 });
      expect(Number((await row(p.id)).version)).to.equal(v0 + 1);
      await p.refresh();
      p.name = 'saved';
      await p.save();
      expect(p.version).to.equal(v0 + 2);
      expect(Number((await row(p.id)).version)).to.equal(v0 + 2);
    } finally {
      await one.close();
    }
  });

  it('a stale copy conflicts after a raw UPDATE it never saw', async () => {
    const p = await Product.create({ name: 'stale' });
    const v0 = p.version;
    await d.knex(table).where({ id: p.id }).update({ stock: 9 });
    p.name = 'mine';
    const err = await rejection(p.save(), RecordModifiedError);
    expect(err.expectedVersion).to.equal(v0);
    expect(err.actualVersion).to.equal(v0 + 1);
    expect(p.version).to.equal(v0);
    expect(await row(p.id)).to.include({ name: 'stale', stock: 9 });
  });

  it('five consecutive saves, with raw updates in between and a refresh, keep instance and database versions equal', async () => {
    const p = await Product.create({ name: 'v' });
    const v0 = p.version;
    for (let i = 0; i < 5; i++) {
      p.stock = i + 1;
      await p.save();
      expect(Number((await row(p.id)).version)).to.equal(p.version);
      await d.knex(table).where({ id: p.id }).update({ price: i });
      await p.refresh();
    }
    expect(p.version).to.equal(v0 + 10);
  });

  it('a save inside a transaction holds its own version (PostgreSQL: still one statement)', async () => {
    const p = await Product.create({ name: 't' });
    const v0 = p.version;
    p.stock = 2;
    const { sql } = await countQueries(d.knex, () => d.db.transaction(() => p.save()));
    // BEGIN, then the save (PostgreSQL: UPDATE ... RETURNING; else SAVEPOINT, UPDATE, SELECT, RELEASE), then COMMIT.
    expect(sql).to.have.length(2 + d.pick({ sqlite: 4, postgres: 1, mysql: 4 }));
    expect(p.version).to.equal(v0 + 1);
    expect(Number((await row(p.id)).version)).to.equal(v0 + 1);
  });

  describe('without its trigger', () => {
    // The version the row had when its trigger was dropped.
    let v0 = 0;

    async function loseTrigger(): Promise<InstanceType<typeof Product>> {
      const p = await Product.create({ name: 'before', stock: 1 });
      v0 = p.version;
      expect(await dropVersionTrigger(d.knex, table, 'version')).to.equal(true);
      p.name = 'after';
      p.stock = 2;
      return p;
    }

    async function expectNothingWritten(p: InstanceType<typeof Product>): Promise<void> {
      expect(await row(p.id)).to.include({ name: 'before', stock: 1 });
      expect(Number((await row(p.id)).version)).to.equal(v0);
      // The instance is as it was: same version, changes still pending.
      expect(p.version).to.equal(v0);
      expect(p.name).to.equal('after');
    }

    it('a save fails loudly, naming the trigger and the table, and writes nothing; recreating the trigger heals', async () => {
      const p = await loseTrigger();
      const err = await rejection(p.save(), MissingTriggerError);
      expect(err).to.include({ model: 'Product', table, column: 'version', trigger, pk: p.id });
      expect(err.message).to.include(trigger).and.to.include(`table ${table}`).and.to.match(/Nothing was written/);
      expect(err.message).to.include(`createVersionTrigger(knex, '${table}', 'version')`);
      await expectNothingWritten(p);
      // Saving again fails again: it never runs unprotected.
      await rejection(p.save(), MissingTriggerError);
      expect(await createVersionTrigger(d.knex, table, 'version')).to.equal(true);
      await p.save();
      expect(p.version).to.equal(v0 + 1);
      expect(await row(p.id)).to.include({ name: 'after', stock: 2 });
      expect(Number((await row(p.id)).version)).to.equal(v0 + 1);
    });

    it('inside a transaction, with the check disabled, or as a bulk update, it fails the same way', async () => {
      const p = await loseTrigger();
      await rejection(d.db.transaction(() => p.save()), MissingTriggerError);
      await expectNothingWritten(p);
      await rejection(disableConcurrency(() => p.save()), MissingTriggerError);
      await expectNothingWritten(p);
      const err = await rejection(Product.query().where('id', p.id).update({ name: 'bulk' }), MissingTriggerError);
      expect(err.message).to.include(trigger).and.to.include('query().update()');
      await expectNothingWritten(p);
    });
  });

  it('a bulk query().update() leaves the version to the trigger: one bump per row', async () => {
    const a = await Product.create({ name: 'a' });
    const v0 = a.version;
    const b = await Product.create({ name: 'b' });
    await b.refresh();
    expect(await Product.query().update({ stock: 3 })).to.equal(2);
    expect(Number((await row(a.id)).version)).to.equal(v0 + 1);
    expect(Number((await row(b.id)).version)).to.equal(b.version + 1);
    b.name = 'stale';
    await rejection(b.save(), RecordModifiedError);
  });

  it('an unchecked save (disableConcurrency) holds the version its own update produced', async () => {
    const p = await Product.create({ name: 'u' });
    const v0 = p.version;
    const stale = await Product.get(p.id);
    await d.knex(table).where({ id: p.id }).update({ stock: 4 });
    await d.knex(table).where({ id: p.id }).update({ stock: 5 });
    stale.name = 'forced';
    await disableConcurrency(() => stale.save());
    expect(stale.version).to.equal(v0 + 3);
    expect(Number((await row(p.id)).version)).to.equal(v0 + 3);
    expect(await row(p.id)).to.include({ name: 'forced', stock: 5 });
  });

  it('create() refuses the version at run time too', async () => {
    const err = await rejection(Product.create({ name: 'x', version: 5 } as never), ValidationError);
    expect(err.field).to.equal('version');
  });

  it('a model with an integer primary key of its own works the same', async () => {
    class Keyed extends Model {
      static table = 'trigger_keyed';
      static fields = { code: new IntegerField({ primaryKey: true }), label: new CharField({ maxLength: 20 }), version: new TriggerVersionField() };
      declare code: number;
      declare label: string;
      declare readonly version: number;
    }
    await d.knex.schema.dropTableIfExists('trigger_keyed');
    await d.knex.schema.createTable('trigger_keyed', (t) => {
      t.integer('code').primary();
      t.string('label', 20).notNullable();
      t.bigInteger('version').notNullable().defaultTo(0);
    });
    await createVersionTrigger(d.knex, 'trigger_keyed', 'version');
    Keyed.bind(d.db);
    const k = await Keyed.create({ code: 7, label: 'seven' });
    const v0 = k.version;
    const eight = await Keyed.create({ code: 8, label: 'eight' });
    k.label = 'SEVEN';
    await k.save();
    expect(k.version).to.equal(v0 + 1);
    expect((await Keyed.get(8)).version).to.equal(eight.version);
  });
});
