import { expect } from 'chai';
import {
  addVersionColumn,
  applyConcurrencyCheck,
  AutoField,
  AutoIncVersionField,
  CharField,
  ConditionalVersionField,
  connect,
  disableConcurrency,
  disableIncrement,
  getRevision,
  IntegerField,
  IntegerVersionField,
  Model,
  ModelDefinitionError,
  RecordModifiedError,
  TriggerVersionField,
  UsageError,
} from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { forEachVersionKind } from './support/models';
import { countQueries, recreateTable } from './support/schema';

forEachDialect('concurrency options: disableIncrement, per-model options, getRevision, applyConcurrencyCheck', (d) => {
  forEachVersionKind(d, 'options', (suite) => {
    const { kind, table } = suite;

    const versionOf = async (id: number) => Number((await d.knex(table).where({ id }).first()).version);

    if (kind.keptByDatabase) {
      it('disableIncrement() cannot stop a trigger: the save is refused before any SQL', async () => {
        const p = await suite.Product.create({ name: 'x' });
        p.name = 'y';
        const { count } = await countQueries(d.knex, async () => {
          const err = await rejection(disableIncrement(() => p.save()), UsageError);
          expect(err.message).to.match(/trigger/).and.to.include('disableIncrement(OtherModel, fn)');
        });
        expect(count).to.equal(0);
        expect(p.name).to.equal('y');
        // Limited to another model, it does not apply.
        await disableIncrement(class Other extends Model {}, () => p.save());
        expect(p.version).to.equal(2);
      });
    } else {
      it('disableIncrement(fn): saves are checked but keep the version, so other copies stay current; returns what fn returns', async () => {
        const p = await suite.Product.create({ name: 'x' });
        const other = await suite.Product.get(p.id);
        const v = p.version;
        p.stock = 7;
        const { sql } = await countQueries(d.knex, async () => expect(await disableIncrement(() => p.save().then(() => 'done'))).to.equal('done'));
        expect(sql).to.have.length(1);
        expect(sql[0]).to.match(/where .*version/i);
        expect(p.version).to.equal(v);
        expect(await versionOf(p.id)).to.equal(v);
        other.name = 'still current';
        await other.save();
        expect(kind.isNext(v, other.version)).to.equal(true);
        // A stale copy still conflicts inside.
        p.stock = 8;
        await rejection(disableIncrement(() => p.save()), RecordModifiedError);
      });
    }

    // A trigger cannot skip its increment: these apply to the other kinds only.
    if (!kind.keptByDatabase) it('disableIncrement(target, fn) limits it to a class or an instance, and every flag is back afterwards', async () => {
      const a = await suite.Product.create({ name: 'a' });
      const b = await suite.Product.create({ name: 'b' });
      const [va, vb] = [a.version, b.version];
      a.stock = 1;
      b.stock = 1;
      await disableIncrement(a, async () => {
        await a.save();
        await b.save();
      });
      expect(a.version).to.equal(va);
      expect(b.version).not.to.equal(vb);
      // Back afterwards, also when fn throws.
      await rejection(disableIncrement(async () => {
        throw new UsageError('boom');
      }), UsageError);
      a.stock = 2;
      await a.save();
      expect(kind.isNext(va, a.version)).to.equal(true);
      // Nested with disableConcurrency: both switches apply inside, neither outside.
      const stale = await suite.Product.get(a.id);
      a.stock = 3;
      await a.save();
      stale.stock = 3;
      const held = stale.version;
      await disableConcurrency(() => disableIncrement(suite.Product, () => stale.save()));
      expect(stale.version).to.equal(held);
      stale.stock = 4;
      await rejection(stale.save(), RecordModifiedError);
      expect(() => (disableIncrement as (...a: unknown[]) => unknown)('x', () => 1)).to.throw(UsageError);
    });

    it('static concurrency = { enabled: false }: no check, the version still rises', async () => {
      class Unchecked extends suite.Product {
        static concurrency = { enabled: false };
      }
      const p = await Unchecked.create({ name: 'x' });
      const stale = await Unchecked.get(p.id);
      p.name = 'first';
      await p.save();
      stale.name = 'second';
      await stale.save();
      expect(stale.version).to.be.greaterThan(p.version);
      expect(await d.knex(table).where({ id: p.id }).first()).to.include({ name: 'second' });
      await stale.delete();
    });

    if (!kind.keptByDatabase) it('static concurrency = { increment: false }: checked, the version never rises', async () => {
      class Frozen extends suite.Product {
        static concurrency = { increment: false };
      }
      const p = await Frozen.create({ name: 'x' });
      const stale = await Frozen.get(p.id);
      const v = p.version;
      p.name = 'first';
      await p.save();
      expect(p.version).to.equal(v);
      await d.knex(table).where({ id: p.id }).update({ version: v + 1 });
      stale.name = 'late';
      await rejection(stale.save(), RecordModifiedError);
    });

    it('getRevision(instance) is the version held: undefined before the insert, then what each save produced', async () => {
      const p = new suite.Product();
      expect(getRevision(p)).to.equal(undefined);
      p.name = 'r';
      await p.save();
      expect(getRevision(p)).to.equal(p.version);
      p.name = 's';
      await p.save();
      expect(getRevision(p)).to.equal(await versionOf(p.id));
      expect(suite.Product.getVersionField()).to.equal('version');
    });

    it('save({ fields }) still checks the version', async () => {
      const p = await suite.Product.create({ name: 'x' });
      const stale = await suite.Product.get(p.id);
      p.name = 'y';
      await p.save();
      stale.stock = 5;
      await rejection(stale.save({ fields: ['stock'] }), RecordModifiedError);
      expect((await d.knex(table).where({ id: p.id }).first()).stock).to.equal(0);
    });
  });

  describe('applyConcurrencyCheck', () => {
    const table = 'options_applied';

    beforeEach(async () => {
      await recreateTable(d.knex, table, (t) => {
        t.increments('id');
        t.string('name', 100).notNullable();
        t.integer('stock').notNullable();
        addVersionColumn(t);
      });
    });

    function unversioned() {
      // A model "defined elsewhere", without a version field.
      class Item extends Model {
        static table = table;
        static fields = { id: new AutoField(), name: new CharField({ maxLength: 100 }), stock: new IntegerField({ default: 0 }) };
        declare id: number;
        declare name: string;
        declare stock: number;
      }
      Item.bind(d.db);
      return Item;
    }

    it('adds a version field to a model defined elsewhere; its saves are then compare-and-swap', async () => {
      const Item = unversioned();
      applyConcurrencyCheck(Item, 'version', AutoIncVersionField);
      applyConcurrencyCheck(Item, 'version', AutoIncVersionField); // harmless
      expect(Item.getVersionField()).to.equal('version');
      const a = await Item.create({ name: 'x' });
      expect(getRevision(a)).to.equal(1);
      const b = await Item.get(a.id);
      a.stock = 1;
      await a.save();
      expect(getRevision(a)).to.equal(2);
      b.stock = 2;
      await rejection(b.save(), RecordModifiedError);
    });

    it('refuses a second, different version field, and anything but a version field', () => {
      const Item = unversioned();
      applyConcurrencyCheck(Item, 'version', new ConditionalVersionField({ checkFields: ['name'] }));
      expect(() => applyConcurrencyCheck(Item, 'version', IntegerVersionField)).to.throw(ModelDefinitionError);
      expect(() => applyConcurrencyCheck(Item, 'rev', IntegerVersionField)).to.throw(ModelDefinitionError, /version field already: version/);
      expect(() => applyConcurrencyCheck(unversioned(), 'name', AutoIncVersionField)).to.throw(ModelDefinitionError, /exists already/);
      expect(() => applyConcurrencyCheck(unversioned(), 'version', IntegerField as never)).to.throw(UsageError);
      expect(() => getRevision(new (unversioned())())).to.throw(UsageError, /applyConcurrencyCheck/);
    });

    it('is refused once a subclass has been used, whose saves would otherwise stay unchecked', async () => {
      const Item = unversioned();
      class SpecialItem extends Item {}
      const s = await SpecialItem.create({ name: 'used' });
      expect(() => applyConcurrencyCheck(Item, 'version', AutoIncVersionField)).to.throw(ModelDefinitionError, /subclass/);
      expect(Item.getVersionField()).to.equal(undefined);
      expect(s.name).to.equal('used');
    });
  });
});

describe('static concurrency definitions', () => {
  const db = connect('sqlite::memory:');
  after(() => db.close());

  const broken: [string, unknown, () => unknown][] = [
    ['an unknown option', { enable: false }, () => new AutoIncVersionField()],
    ['a non-boolean', { enabled: 'no' }, () => new AutoIncVersionField()],
    ['increment: false with a TriggerVersionField', { increment: false }, () => new TriggerVersionField()],
  ];
  for (const [why, options, field] of broken) {
    it(`refuses ${why}`, () => {
      class Bad extends Model {
        static table = 'bad';
        static fields = { id: new AutoField(), version: field() as AutoIncVersionField };
        static concurrency = options;
      }
      expect(() => Bad.bind(db)).to.throw(ModelDefinitionError, /^Bad: concurrency/);
    });
  }
});
