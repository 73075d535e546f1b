import { expect } from 'chai';
import { AutoField, Model, ValidationError } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { forEachVersionKind } from './support/models';
import { rejection } from './support/expect-error';
import { countQueries, recreateTable } from './support/schema';

forEachDialect('save(): insert and compare-and-swap update', (d) => {
  forEachVersionKind(d, 'save', (suite) => {
    const { kind, table } = suite;

    it('create() inserts, sets the primary key and the initial version, and applies defaults', async () => {
      const p = await suite.Product.create({ name: 'Lamp' });
      expect(p.id).to.be.a('number');
      expect(kind.isInitial(p.version), `initial version ${p.version}`).to.equal(true);
      expect(p.description).to.equal('');
      const row = await d.knex(table).where({ id: p.id }).first();
      expect(row.name).to.equal('Lamp');
      expect(Number(row.version)).to.equal(p.version);
    });

    it('a first save() of a new instance inserts it', async () => {
      const p = new suite.Product();
      p.name = 'Desk';
      await p.save();
      expect(p.id).to.be.a('number');
      expect(kind.isInitial(p.version)).to.equal(true);
      expect(await d.knex(table).count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 1);
    });

    it('update is one statement writing only the changed fields and the version (a trigger-kept version: the fewest race-free)', async () => {
      const p = await suite.Product.create({ name: 'Lamp', description: 'old' });
      const before = p.version;
      p.name = 'Desk lamp';
      const { count, sql } = await countQueries(d.knex, () => p.save());
      expect(count).to.equal(d.pick(kind.saveStatements));
      const updates = sql.filter((s) => /^update /i.test(s));
      expect(updates).to.have.length(1);
      expect(updates[0]).to.match(/name/);
      expect(updates[0]).not.to.match(/description/);
      expect(updates[0]).to.match(/where .*id.* and .*version/i);
      expect(kind.isNext(before, p.version), `${before} -> ${p.version}`).to.equal(true);
      const row = await d.knex(table).where({ id: p.id }).first();
      expect(row.name).to.equal('Desk lamp');
      expect(row.description).to.equal('old');
      expect(Number(row.version)).to.equal(p.version);
    });

    it('consecutive saves keep instance and database versions equal', async () => {
      const p = await suite.Product.create({ name: 'v' });
      for (let i = 0; i < 5; i++) {
        const before = p.version;
        p.stock = i + 1;
        await p.save();
        expect(kind.isNext(before, p.version)).to.equal(true);
        const row = await d.knex(table).where({ id: p.id }).first();
        expect(Number(row.version)).to.equal(p.version);
        expect(row.stock).to.equal(i + 1);
      }
    });

    it('saving with no changes issues no statement and keeps the version', async () => {
      const p = await suite.Product.create({ name: 'same' });
      const v = p.version;
      p.name = 'same';
      const { count } = await countQueries(d.knex, () => p.save());
      expect(count).to.equal(0);
      expect(p.version).to.equal(v);
    });

    it('assigning only the version is not a change', async () => {
      const p = await suite.Product.create({ name: 'x' });
      const v = p.version;
      p.version = v + 7;
      const { count } = await countQueries(d.knex, () => p.save());
      expect(count).to.equal(0);
      expect(p.version).to.equal(v + 7);
    });

    it('reloading a saved row reads back what was written', async () => {
      const p = await suite.Product.create({ name: 'reload', price: 9.5, stock: 3 });
      p.price = 10.25;
      await p.save();
      const q = await suite.Product.get(p.id);
      expect(q.toJSON()).to.deep.equal(p.toJSON());
    });

    it('save({ fields }) writes only the named changed fields and still checks the version', async () => {
      const p = await suite.Product.create({ name: 'a', stock: 1 });
      p.name = 'b';
      p.stock = 2;
      const { sql } = await countQueries(d.knex, () => p.save({ fields: ['stock'] }));
      expect(sql).to.have.length(d.pick(kind.saveStatements));
      expect(sql.find((s) => /^update /i.test(s))).not.to.match(/name/);
      const row = await d.knex(table).where({ id: p.id }).first();
      expect(row.stock).to.equal(2);
      expect(row.name).to.equal('a');
      // The name is still a pending change.
      await p.save();
      expect((await d.knex(table).where({ id: p.id }).first()).name).to.equal('b');
      const err = await rejection(p.save({ fields: ['nope'] }), ValidationError);
      expect(err.field).to.equal('nope');
    });

    it('refresh() reloads every field and discards unsaved changes', async () => {
      const p = await suite.Product.create({ name: 'r' });
      // A trigger-kept version cannot be set by raw SQL: the trigger raises it by one.
      const elsewhere = kind.keptByDatabase ? p.version + 1 : p.version + 5;
      await d.knex(table).where({ id: p.id }).update(kind.keptByDatabase ? { name: 'changed elsewhere' } : { name: 'changed elsewhere', version: elsewhere });
      p.stock = 99;
      await p.refresh();
      expect(p.name).to.equal('changed elsewhere');
      expect(p.version).to.equal(elsewhere);
      expect(p.stock).to.equal(0);
      const { count } = await countQueries(d.knex, () => p.save());
      expect(count).to.equal(0);
    });
  });
});

forEachDialect('save(): a row of nothing but defaults', (d) => {
  it('inserts a model whose only field is its generated key', async () => {
    await recreateTable(d.knex, 'save_only_key', (t) => t.increments('id'));
    class Ticket extends Model {
      static table = 'save_only_key';
      static fields = { id: new AutoField() };
      declare id: number;
    }
    Ticket.bind(d.db);
    const a = await Ticket.create({});
    const b = await Ticket.create({});
    expect(b.id).to.be.greaterThan(a.id);
    expect(await d.knex('save_only_key').count({ n: '*' }).first()).to.satisfy((r: { n: unknown }) => Number(r.n) === 2);
  });
});
