import { expect } from 'chai';
import { inspect } from 'node:util';
import {
  AutoField,
  AutoIncVersionField,
  CharField,
  JsonField,
  Model,
  ModelDefinitionError,
  RecordDeletedError,
  RecordModifiedError,
  restore,
  UsageError,
  ValidationError,
} from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { countQueries, recreateTable } from './support/schema';

// A conflict people can resolve: what they loaded, what they tried, what is
// there now, and help to merge, with no extra round trip.
forEachDialect('the conflict report on RecordModifiedError', (d) => {
  for (const kind of VERSION_KINDS) {
    describe(kind.name, () => {
      const table = `report_${kind.name.toLowerCase()}`;
      let Product: ReturnType<typeof productModel>;

      beforeEach(async () => {
        await createProductTable(d.knex, table, kind);
        Product = productModel(d.db, table, kind);
      });

      /** Two users load version 1; "them" saves `theirs`, then "me" tries `mine`. */
      async function conflict(theirs: Record<string, unknown>, mine: Record<string, unknown>) {
        const p = await Product.create({ name: 'lamp', description: 'a lamp', price: 10, stock: 5 });
        const me = await Product.get(p.id);
        const them = await Product.get(p.id);
        Object.assign(them, theirs);
        await them.save();
        Object.assign(me, mine);
        const { result: err, sql } = await countQueries(d.knex, () => rejection(me.save(), RecordModifiedError));
        return { p, me, them, err, sql };
      }

      it('carries original, attempted, current and the fields both sides changed; the read it already did fetches the whole row', async () => {
        const { p, them, err, sql } = await conflict({ name: 'theirs', price: 12 }, { name: 'mine', stock: 7 });
        expect(err.original).to.include({ id: p.id, name: 'lamp', description: 'a lamp', price: 10, stock: 5, version: p.version });
        expect(err.attempted).to.include({ id: p.id, name: 'mine', price: 10, stock: 7, version: p.version });
        expect(err.current).to.include({ id: p.id, name: 'theirs', price: 12, stock: 5, version: them.version });
        expect(err.conflictingFields).to.deep.equal(['name']);
        expect(err.conflictReport!.changedByMe).to.deep.equal(['name', 'stock']);
        expect(err.conflictReport!.changedByThem).to.deep.equal(['name', 'price']);
        // Still the one read after the failed write (BEGIN/COMMIT aside), now of the whole row.
        const work = sql.filter((s) => !/^(begin|commit|rollback)/i.test(s));
        expect(work).to.have.length(2);
        expect(work[0]).to.match(/^update/i);
        expect(work[1]).to.match(/^select/i);
        for (const column of ['name', 'description', 'price', 'stock', 'version']) expect(work[1]).to.include(column);
      });

      it('a field both sides set to the same value is no conflict, and logs stay small', async () => {
        const { err } = await conflict({ name: 'same', price: 12 }, { name: 'same' });
        expect(err.conflictReport!.changedByMe).to.deep.equal(['name']);
        expect(err.conflictReport!.changedByThem).to.deep.equal(['name', 'price']);
        expect(err.conflictingFields).to.deep.equal([]);
        // The values are not own enumerable properties: inspecting the error does not dump them.
        expect(Object.keys(err)).not.to.include.members(['original', 'attempted', 'current']);
        expect(inspect(err)).not.to.include('a lamp');
      });

      it("resolve('mine'): my changes over theirs, at the current version, and its save is checked again", async () => {
        const { p, them, err } = await conflict({ name: 'theirs', price: 12 }, { name: 'mine', stock: 7 });
        const merged = err.resolve<InstanceType<typeof Product>>('mine');
        expect(merged).to.be.instanceOf(Product);
        expect(merged.toJSON()).to.include({ name: 'mine', price: 12, stock: 7, version: them.version });
        await merged.save();
        const row = await d.knex(table).where({ id: p.id }).first();
        expect({ name: row.name, price: Number(row.price), stock: Number(row.stock) }).to.deep.equal({ name: 'mine', price: 12, stock: 7 });
        // The same resolution again is stale now: checked, not blindly written.
        const again = err.resolve<InstanceType<typeof Product>>('mine');
        again.name = 'late';
        await rejection(again.save(), RecordModifiedError);
      });

      it("resolve('theirs') drops my changes; a merge function decides each conflicting field and sees all three values", async () => {
        const { them, err } = await conflict({ name: 'theirs', stock: 9 }, { name: 'mine', stock: 7, description: 'mine too' });
        const theirs = err.resolve<InstanceType<typeof Product>>('theirs');
        expect(theirs.toJSON()).to.deep.equal(them.toJSON());
        const calls: unknown[] = [];
        const merged = err.resolve<InstanceType<typeof Product>>((field, sides) => {
          calls.push([field, sides]);
          return field === 'stock' ? Math.min(sides.mine as number, sides.theirs as number) : sides.theirs;
        });
        expect(calls).to.deep.equal([
          ['name', { original: 'lamp', mine: 'mine', theirs: 'theirs' }],
          ['stock', { original: 5, mine: 7, theirs: 9 }],
        ]);
        expect(merged.toJSON()).to.include({ name: 'theirs', stock: 7, description: 'mine too', version: them.version });
        await merged.save();
        expect((await Product.get(them.id)).toJSON()).to.include({ name: 'theirs', stock: 7, description: 'mine too' });
      });

      it('mergeIfDisjoint() merges when no field was changed by both, and names the fields when some were', async () => {
        const { p, err } = await conflict({ price: 12 }, { stock: 7 });
        const merged = err.mergeIfDisjoint<InstanceType<typeof Product>>();
        await merged.save();
        expect((await Product.get(p.id)).toJSON()).to.include({ price: 12, stock: 7 });
        const clash = (await conflict({ name: 'theirs', stock: 1 }, { name: 'mine', stock: 2 })).err;
        const refused = await rejection(() => clash.mergeIfDisjoint(), UsageError);
        expect(refused.message).to.match(/name, stock were changed both by you and by someone else/);
      });

      it('a deleted row: current is null, resolve() refuses, and a delete that conflicts reports no attempt', async () => {
        const p = await Product.create({ name: 'doomed' });
        const stale = await Product.get(p.id);
        await d.knex(table).where({ id: p.id }).del();
        stale.name = 'edited';
        const gone = await rejection(stale.save(), RecordDeletedError);
        expect(gone.current).to.equal(null);
        expect(gone.original).to.include({ name: 'doomed' });
        expect(gone.attempted).to.include({ name: 'edited' });
        await rejection(() => gone.resolve('mine'), UsageError);
        const q = await Product.create({ name: 'kept' });
        const deleter = await Product.get(q.id);
        const editor = await Product.get(q.id);
        editor.name = 'edited first';
        await editor.save();
        const err = await rejection(deleter.delete(), RecordModifiedError);
        expect(err.operation).to.equal('delete');
        expect(err.attempted).to.equal(null);
        expect(err.current).to.include({ name: 'edited first' });
        expect(err.conflictReport!.changedByThem).to.deep.equal(['name']);
      });
    });
  }

  describe('private fields, JSON values, restore()', () => {
    class Account extends Model {
      static table = 'report_accounts';
      static fields = {
        id: new AutoField(),
        email: new CharField({ maxLength: 100 }),
        passwordHash: new CharField({ maxLength: 100, private: true, column: 'password_hash' }),
        tags: new JsonField({ default: () => [] }),
        version: new AutoIncVersionField(),
      };
      declare id: number;
      declare email: string;
      declare passwordHash: string;
      declare tags: string[];
      declare version: number;
    }
    before(() => Account.bind(d.db));
    beforeEach(async () => {
      await recreateTable(d.knex, 'report_accounts', (t) => {
        t.increments('id');
        t.string('email', 100).notNullable();
        t.string('password_hash', 100).notNullable();
        t.text('tags').notNullable();
        t.bigInteger('version').notNullable();
      });
    });

    async function accountConflict() {
      const a = await Account.create({ email: 'a@example.com', passwordHash: 'hash-0', tags: ['x'] });
      const me = await Account.get(a.id);
      const them = await Account.get(a.id);
      them.passwordHash = 'hash-theirs';
      them.tags = ['x', 'theirs'];
      await them.save();
      me.passwordHash = 'hash-mine';
      me.tags.push('mine'); // changed in place
      return rejection(me.save(), RecordModifiedError);
    }

    it('a private field is in the report in memory, and never in a serialized one', async () => {
      const err = await accountConflict();
      expect(err.attempted).to.include({ passwordHash: 'hash-mine' });
      expect(err.conflictingFields).to.deep.equal(['passwordHash', 'tags']);
      const json = JSON.stringify(err);
      expect(json).not.to.match(/hash-|passwordHash/);
      const parsed = JSON.parse(json);
      expect(parsed).to.include({ name: 'RecordModifiedError', model: 'Account', operation: 'update' });
      expect(parsed.conflict.conflictingFields).to.deep.equal(['tags']);
      expect(parsed.conflict.current).to.include({ email: 'a@example.com' });
    });

    it('a value changed in place is reported as loaded in original, and the resolution gets copies', async () => {
      const err = await accountConflict();
      expect(err.original!['tags']).to.deep.equal(['x']);
      expect(err.attempted!['tags']).to.deep.equal(['x', 'mine']);
      expect(err.current!['tags']).to.deep.equal(['x', 'theirs']);
      const merged = err.resolve<Account>((field, { mine, theirs }) => (field === 'tags' ? [...new Set([...(theirs as string[]), ...(mine as string[])])] : theirs));
      expect(merged.tags).to.deep.equal(['x', 'theirs', 'mine']);
      await merged.save();
      expect((await Account.get(merged.id)).tags).to.deep.equal(['x', 'theirs', 'mine']);
      expect(err.current!['tags']).to.deep.equal(['x', 'theirs']);
    });

    it('static reportFields is an allow-list, and names only fields', async () => {
      class PublicAccount extends Account {
        static reportFields = ['email', 'tags'];
      }
      const a = await PublicAccount.create({ email: 'b@example.com', passwordHash: 'h', tags: [] });
      const me = await PublicAccount.get(a.id);
      await d.knex('report_accounts').where({ id: a.id }).update({ email: 'c@example.com', version: a.version + 1 });
      me.email = 'd@example.com';
      const err = await rejection(me.save(), RecordModifiedError);
      const parsed = JSON.parse(JSON.stringify(err));
      expect(Object.keys(parsed.conflict.current).sort()).to.deep.equal(['email', 'tags']);
      class Bad extends Account {
        static reportFields = ['nope'];
      }
      await rejection(() => Bad.create({ email: 'x', passwordHash: 'y' }), ModelDefinitionError);
    });

    it('restore() rebuilds what a form showed; its save checks that version and reports those values as original', async () => {
      const a = await Account.create({ email: 'a@example.com', passwordHash: 'h', tags: ['x'] });
      const shown = a.toJSON();
      const other = await Account.get(a.id);
      other.email = 'other@example.com';
      await other.save();
      const fromForm = restore(Account, shown);
      fromForm.email = 'form@example.com';
      const err = await rejection(fromForm.save(), RecordModifiedError);
      expect(err.original).to.include({ email: 'a@example.com', version: a.version });
      expect(err.conflictingFields).to.deep.equal(['email']);
      // Nothing is read or written by restore() itself; bad values are refused like assignments.
      const { count } = await countQueries(d.knex, async () => restore(Account, shown));
      expect(count).to.equal(0);
      await rejection(() => restore(Account, { ...shown, version: 'v1' }), ValidationError);
      await rejection(() => restore(Account, { email: 'x' }), ValidationError);
      await rejection(() => restore(Account, { ...shown, nope: 1 }), ValidationError);
    });
  });
});
