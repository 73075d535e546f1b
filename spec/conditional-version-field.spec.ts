import { expect } from 'chai';
import { addVersionColumn, AutoField, CharField, ConditionalVersionField, connect, Database, FloatField, IntegerField, Model, ModelDefinitionError, RecordModifiedError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { countQueries, recreateTable } from './support/schema';

// name and price raise the version; notes and views do not. Declared both ways.
const DECLARATIONS: readonly [string, () => ConditionalVersionField][] = [
  ['checkFields', () => new ConditionalVersionField({ checkFields: ['name', 'price'] })],
  ['ignoreFields', () => new ConditionalVersionField({ ignoreFields: ['notes', 'views'] })],
];

function articleModel(db: Database, table: string, version: ConditionalVersionField) {
  class Article extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      name: new CharField({ maxLength: 50 }),
      price: new FloatField({ default: 0 }),
      notes: new CharField({ maxLength: 50, default: '' }),
      views: new IntegerField({ default: 0 }),
      version,
    };
    declare id: number;
    declare name: string;
    declare price: number;
    declare notes: string;
    declare views: number;
    declare version: number;
  }
  Article.bind(db);
  return Article;
}

forEachDialect('ConditionalVersionField: the version rises only for checked fields', (d) => {
  for (const [how, make] of DECLARATIONS) {
    describe(`declared with ${how}`, () => {
      const table = `conditional_${how.toLowerCase()}`;
      let Article: ReturnType<typeof articleModel>;

      beforeEach(async () => {
        await recreateTable(d.knex, table, (t) => {
          t.increments('id');
          t.string('name', 50).notNullable();
          t.double('price').notNullable();
          t.string('notes', 50).notNullable();
          t.integer('views').notNullable();
          addVersionColumn(t);
        });
        Article = articleModel(d.db, table, make());
      });

      const versionOf = async (id: number) => Number((await d.knex(table).where({ id }).first()).version);

      it('a checked change raises the version; an unchecked one is a shadow save: checked, one statement, version untouched', async () => {
        const a = await Article.create({ name: 'a' });
        const v0 = a.version;
        expect(a.version).to.equal(v0);
        a.notes = 'just a note';
        const { sql } = await countQueries(d.knex, () => a.save());
        expect(sql).to.have.length(1);
        expect(sql[0]).to.match(/where .*id.* and .*version/i);
        expect(sql[0]!.split(/ where /i)[0]).not.to.match(/version/i);
        expect(a.version).to.equal(v0);
        expect(await versionOf(a.id)).to.equal(v0);
        a.price = 9.5;
        a.views = 3;
        await a.save();
        expect(a.version).to.equal(v0 + 1);
        expect(await versionOf(a.id)).to.equal(v0 + 1);
      });

      it("someone else's unchecked change does not make my copy stale; their checked change does", async () => {
        const mine = await Article.create({ name: 'shared' });
        const v0 = mine.version;
        const theirs = await Article.get(mine.id);
        theirs.views = 100;
        await theirs.save();
        mine.name = 'renamed';
        await mine.save();
        expect(mine.version).to.equal(v0 + 1);
        const row = await d.knex(table).where({ id: mine.id }).first();
        expect(row).to.include({ name: 'renamed', views: 100 });
        theirs.price = 1;
        const err = await rejection(theirs.save(), RecordModifiedError);
        expect(err.expectedVersion).to.equal(v0);
        expect(err.actualVersion).to.equal(v0 + 1);
        expect(theirs.version).to.equal(v0);
      });

      it('a shadow save of a stale copy still conflicts', async () => {
        const a = await Article.create({ name: 'x' });
        const v0 = a.version;
        const stale = await Article.get(a.id);
        a.price = 2;
        await a.save();
        stale.notes = 'late note';
        await rejection(stale.save(), RecordModifiedError);
        expect((await d.knex(table).where({ id: a.id }).first()).notes).to.equal('');
      });

      it('each instance measures changes against its own baseline', async () => {
        const a = await Article.create({ name: 'base', price: 10 });
        const v0 = a.version;
        // Someone changes the price without touching the version: b loads another baseline than a.
        await d.knex(table).where({ id: a.id }).update({ price: 20 });
        const b = await Article.get(a.id);
        a.price = 20; // a change for a (10 -> 20), whatever b loaded
        b.price = 10; // and for b (20 -> 10)
        await b.save();
        expect(b.version).to.equal(v0 + 1);
        const err = await rejection(a.save(), RecordModifiedError);
        expect(err.actualVersion).to.equal(v0 + 1);
        expect(a.price).to.equal(20);
        expect(a.version).to.equal(v0);
      });

      it('save({ fields }) bumps only when a saved field is checked; the pending checked change bumps later', async () => {
        const a = await Article.create({ name: 'f' });
        const v0 = a.version;
        a.name = 'pending';
        a.notes = 'now';
        await a.save({ fields: ['notes'] });
        expect(a.version).to.equal(v0);
        await a.save();
        expect(a.version).to.equal(v0 + 1);
        expect(await d.knex(table).where({ id: a.id }).first()).to.include({ name: 'pending', notes: 'now' });
      });

      it('a bulk query().update() bumps only when it sets a checked field', async () => {
        const a = await Article.create({ name: 'bulk' });
        const v0 = a.version;
        await Article.query().where('id', a.id).update({ views: 5 });
        expect(await versionOf(a.id)).to.equal(v0);
        await Article.query().where('id', a.id).update({ price: 5 });
        expect(await versionOf(a.id)).to.equal(v0 + 1);
      });
    });
  }
});

describe('ConditionalVersionField definitions', () => {
  const db = connect('sqlite::memory:');
  after(() => db.close());

  const broken: [string, () => ConditionalVersionField][] = [
    ['both checkFields and ignoreFields', () => new ConditionalVersionField({ checkFields: ['a'], ignoreFields: ['b'] } as never)],
    ['neither option', () => new ConditionalVersionField({} as never)],
    ['an empty checkFields', () => new ConditionalVersionField({ checkFields: [] })],
    ['an unknown field', () => new ConditionalVersionField({ checkFields: ['nope'] })],
    ['the version itself', () => new ConditionalVersionField({ ignoreFields: ['version'] })],
    ['the primary key', () => new ConditionalVersionField({ checkFields: ['id'] })],
  ];
  for (const [why, make] of broken) {
    it(`refuses ${why}, naming the model and saying what to do`, () => {
      class Bad extends Model {
        static table = 'bad';
        static fields = { id: new AutoField(), a: new IntegerField(), b: new IntegerField(), version: make() };
      }
      const err = (() => {
        try {
          Bad.bind(db);
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      expect(err).to.be.instanceOf(ModelDefinitionError);
      expect(err!.message).to.match(/^Bad: fields\.version: ConditionalVersionField/);
    });
  }
});
