import { expect } from 'chai';
import { AutoField, AutoIncVersionField, CharField, connect, IntegerField, IntegerVersionField, Model, ModelDefinitionError, UsageError } from '../lib';
import { rejection } from './support/expect-error';
import { countQueries } from './support/schema';

// Model definitions are checked without touching a database: these specs need none.
describe('model definitions', () => {
  const db = connect('sqlite::memory:');
  after(() => db.close());

  it('refuses a class field that would shadow a model field, and says to use declare', async () => {
    class Shadowed extends Model {
      static table = 'shadowed';
      static fields = { id: new AutoField(), name: new CharField({ maxLength: 10 }), version: new IntegerVersionField() };
      name!: string;
    }
    Shadowed.bind(db);
    const err = await rejection(Shadowed.create({ name: 'x' }), ModelDefinitionError);
    expect(err.message).to.match(/declare name/);
  });

  const broken: [string, () => typeof Model][] = [
    ['no table', () => class extends Model { static fields = { id: new AutoField() }; }],
    ['no fields', () => class extends Model { static table = 't'; }],
    ['no primary key', () => class extends Model { static table = 't'; static fields = { n: new IntegerField() }; }],
    ['two version fields', () => class extends Model { static table = 't'; static fields = { id: new AutoField(), a: new IntegerVersionField(), b: new AutoIncVersionField() }; }],
    ['a field named like a Model method', () => class extends Model { static table = 't'; static fields = { id: new AutoField(), save: new IntegerField() }; }],
    // Inherited by every values object: an unset valueOf would be bound as a function, and always look changed.
    ['a field named like a property every object inherits (valueOf)', () => class extends Model { static table = 't'; static fields = { id: new AutoField(), valueOf: new IntegerField({ null: true }) }; }],
    ['a field named like a property every object inherits (toString)', () => class extends Model { static table = 't'; static fields = { id: new AutoField(), toString: new CharField({ maxLength: 5 }) }; }],
    // Knex and the drivers treat a key __proto__ as the prototype: a condition on it would vanish
    // (where({ tag }).delete() deleting every row), a value for it would not be written.
    ['a column named __proto__', () => class extends Model { static table = 't'; static fields = { id: new AutoField(), tag: new CharField({ maxLength: 5, column: '__proto__' }) }; }],
    ['a CharField without maxLength', () => class extends Model { static table = 't'; static fields = { id: new AutoField(), s: new CharField({} as never) }; }],
    ['two fields on one column', () => class extends Model { static table = 't'; static fields = { id: new AutoField(), a: new IntegerField({ column: 'x' }), b: new IntegerField({ column: 'x' }) }; }],
    ['something that is not a field', () => class extends Model { static table = 't'; static fields = { id: new AutoField(), n: 5 as never }; }],
  ];
  for (const [why, make] of broken) {
    it(`refuses a model with ${why}, with a message that says what to do`, () => {
      const cls = make();
      expect(() => cls.bind(db)).to.throw(ModelDefinitionError);
    });
  }

  it('refuses a model without a version field unless it declares that it writes unchecked, naming both fixes', async () => {
    class Note extends Model {
      static table = 'notes';
      static fields = { id: new AutoField(), body: new CharField({ maxLength: 10 }) };
      declare id: number;
      declare body: string;
    }
    Note.bind(db); // bind() alone is allowed: applyConcurrencyCheck() may still add a version field
    const queries = await countQueries(db.knex, async () => {
      const err = await rejection(Note.create({ body: 'x' }), ModelDefinitionError);
      expect(err.message).to.match(/^Note: no version field/);
      expect(err.message).to.include('version: new IntegerVersionField()').and.include('static concurrency = { enabled: false }');
      await rejection(Note.get(1), ModelDefinitionError);
      expect(() => Note.query()).to.throw(ModelDefinitionError, /no version field/);
      const n = new Note();
      n.body = 'x';
      await rejection(n.save(), ModelDefinitionError);
    });
    expect(queries.count).to.equal(0);
    class CheckedButNotRaised extends Model {
      static table = 'notes';
      static fields = { id: new AutoField(), body: new CharField({ maxLength: 10 }) };
      static concurrency = { increment: false };
    }
    CheckedButNotRaised.bind(db);
    await rejection(CheckedButNotRaised.create({ body: 'x' }), ModelDefinitionError);

    class Unchecked extends Model {
      static table = 'notes';
      static fields = { id: new AutoField(), body: new CharField({ maxLength: 10 }) };
      static concurrency = { enabled: false };
      declare id: number;
      declare body: string;
    }
    Unchecked.bind(db);
    await db.knex.schema.createTable('notes', (t) => {
      t.increments('id');
      t.string('body', 10).notNullable();
    });
    const n = await Unchecked.create({ body: 'x' });
    n.body = 'y';
    await n.save();
    expect((await Unchecked.get(n.id)).body).to.equal('y');
  });

  it('refuses attributes passed to the constructor (plain JavaScript), instead of silently dropping them', () => {
    class Article extends Model {
      static table = 'articles';
      static fields = { id: new AutoField(), title: new CharField({ maxLength: 10 }), version: new IntegerVersionField() };
    }
    Article.bind(db);
    const Untyped = Article as unknown as new (attrs: object) => Article;
    expect(() => new Untyped({ title: 'x' })).to.throw(UsageError, /^new Article\(\.\.\.\) takes no attributes; use Article\.create\(\{ \.\.\. \}\)/);
    expect(() => new Article()).not.to.throw();
  });

  it('refuses to use a model that is not bound', async () => {
    class Unbound extends Model {
      static table = 'unbound';
      static fields = { id: new AutoField(), version: new IntegerVersionField() };
    }
    const err = await rejection(Unbound.get(1), UsageError);
    expect(err.message).to.match(/Unbound\.bind/);
  });

  it('binds subclasses with their parent, and lets a subclass bind elsewhere', async () => {
    const other = connect('sqlite::memory:');
    try {
      class Base extends Model {
        static table = 'items';
        static fields = { id: new AutoField(), n: new IntegerField({ default: 0 }), version: new AutoIncVersionField() };
        declare id: number;
        declare n: number;
      }
      class Same extends Base {}
      class Elsewhere extends Base {}
      Base.bind(db);
      Elsewhere.bind(other);
      for (const k of [db, other]) await k.knex.schema.createTable('items', (t) => {
        t.increments('id');
        t.integer('n');
        t.bigInteger('version');
      });
      await Same.create({ n: 1 });
      await Elsewhere.create({ n: 2 });
      expect(Same.database()).to.equal(db);
      expect(await db.knex('items').pluck('n')).to.deep.equal([1]);
      expect(await other.knex('items').pluck('n')).to.deep.equal([2]);
      expect((await Same.get(1)).constructor).to.equal(Same);
      expect(Base.getVersionField()).to.equal('version');
    } finally {
      await other.close();
    }
  });
});
