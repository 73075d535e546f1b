import { expect } from 'chai';
import { dropVersionTrigger, RecordDeletedError, RecordModifiedError, UsageError, ValidationError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { forEachVersionKind } from './support/models';
import { countQueries } from './support/schema';

forEachDialect('conflicts: modified, deleted, never re-inserted', (d) => {
  forEachVersionKind(d, 'conflict', (suite) => {
    const { kind, table } = suite;

    it('the second of two writers from the same version gets RecordModifiedError with the data to react', async () => {
      const p = await suite.Product.create({ name: 'Original Product' });
      const a = await suite.Product.get(p.id);
      const b = await suite.Product.get(p.id);
      a.name = 'Product updated by User A';
      await a.save();
      b.name = 'Product updated by User B';
      const err = await rejection(b.save(), RecordModifiedError);
      expect(err).not.to.be.instanceOf(RecordDeletedError);
      expect(err.model).to.equal('Product');
      expect(err.pk).to.equal(p.id);
      expect(err.operation).to.equal('update');
      expect(err.expectedVersion).to.equal(p.version);
      expect(err.actualVersion).to.equal(a.version);
      expect(err.target).to.equal(b);
      expect(Object.keys(err)).not.to.include('target');
      expect(err.message).to.match(/Product .* changed by someone else .*refresh\(\)/);
      const row = await d.knex(table).where({ id: p.id }).first();
      expect(row.name).to.equal('Product updated by User A');
    });

    it('a failed save leaves the instance exactly as before, and saving again fails again', async () => {
      const p = await suite.Product.create({ name: 'x', stock: 1 });
      const stale = await suite.Product.get(p.id);
      p.stock = 2;
      await p.save();
      stale.name = 'mine';
      stale.stock = 5;
      const before = stale.toJSON();
      await rejection(stale.save(), RecordModifiedError);
      expect(stale.toJSON()).to.deep.equal(before);
      expect(stale.version).to.equal(before.version);
      const again = await rejection(stale.save(), RecordModifiedError);
      expect(again.expectedVersion).to.equal(before.version);
      // The unsaved changes are still there to merge after a refresh.
      expect(stale.name).to.equal('mine');
    });

    it('a conflict costs exactly one extra read, and only after the failed write', async () => {
      const p = await suite.Product.create({ name: 'x' });
      const stale = await suite.Product.get(p.id);
      p.name = 'y';
      await p.save();
      stale.name = 'z';
      const { sql } = await countQueries(d.knex, () => stale.save().catch(() => undefined));
      // A save that reads its version back in a transaction also sends BEGIN and COMMIT.
      expect(sql).to.have.length(d.pick(kind.saveStatements) === 1 ? 2 : 4);
      const work = sql.filter((s) => !/^(begin|commit)/i.test(s));
      expect(work).to.have.length(2);
      expect(work[0]).to.match(/^update/i);
      expect(work[1]).to.match(/^select/i);
    });

    it('saving a row someone else deleted raises RecordDeletedError and never re-inserts it', async () => {
      const p = await suite.Product.create({ name: 'doomed' });
      const stale = await suite.Product.get(p.id);
      await d.knex(table).where({ id: p.id }).del();
      stale.name = 'resurrected?';
      const err = await rejection(stale.save(), RecordDeletedError);
      expect(err).to.be.instanceOf(RecordModifiedError);
      expect(err.actualVersion).to.equal(null);
      expect(err.expectedVersion).to.equal(p.version);
      expect(err.operation).to.equal('update');
      expect(err.message).to.match(/deleted by someone else/);
      expect(await d.knex(table).where({ id: p.id })).to.have.length(0);
      expect(await d.knex(table)).to.have.length(0);
    });

    it('delete() is checked: a stale delete raises RecordModifiedError and the row stays', async () => {
      const p = await suite.Product.create({ name: 'keep me' });
      const stale = await suite.Product.get(p.id);
      p.name = 'edited';
      await p.save();
      const { count } = await countQueries(d.knex, async () => {
        const err = await rejection(stale.delete(), RecordModifiedError);
        expect(err.operation).to.equal('delete');
        expect(err.actualVersion).to.equal(p.version);
      });
      expect(count).to.equal(2);
      expect(await d.knex(table).where({ id: p.id })).to.have.length(1);
    });

    it('delete() of a current instance is one conditional DELETE', async () => {
      const p = await suite.Product.create({ name: 'bye' });
      const { sql } = await countQueries(d.knex, () => p.delete());
      expect(sql).to.have.length(1);
      expect(sql[0]).to.match(/^delete .*where .*id.* and .*version/i);
      expect(await d.knex(table).where({ id: p.id })).to.have.length(0);
      await rejection(p.save(), UsageError);
      await rejection(p.delete(), UsageError);
    });

    it('deleting a row that is already gone raises RecordDeletedError', async () => {
      const p = await suite.Product.create({ name: 'gone' });
      await d.knex(table).where({ id: p.id }).del();
      const err = await rejection(p.delete(), RecordDeletedError);
      expect(err.operation).to.equal('delete');
    });

    it('a version set by the caller (If-Match) is the one checked', async () => {
      const p = await suite.Product.create({ name: 'form' });
      const formVersion = p.version;
      const other = await suite.Product.get(p.id);
      other.name = 'concurrent edit';
      await other.save();
      // A fresh instance that believes the form's version:
      const fresh = await suite.Product.get(p.id);
      fresh.version = formVersion;
      fresh.name = 'from the form';
      const err = await rejection(fresh.save(), RecordModifiedError);
      expect(err.expectedVersion).to.equal(formVersion);
      // ...and the current version as a string from an HTTP header works.
      fresh.version = String(other.version) as unknown as number;
      await fresh.save();
      expect((await d.knex(table).where({ id: p.id }).first()).name).to.equal('from the form');
    });

    for (const bad of [null, '', 'abc', '12abc', Number.NaN, -1, 1.5, Number.MAX_SAFE_INTEGER + 2, {}, [], true]) {
      it(`a persisted instance with version ${JSON.stringify(bad) ?? String(bad)} is refused before any SQL`, async () => {
        const p = await suite.Product.create({ name: 'v' });
        p.name = 'changed';
        const { count } = await countQueries(d.knex, async () => {
          await rejection(async () => {
            p.version = bad as unknown as number;
            await p.save();
          }, ValidationError);
        });
        expect(count).to.equal(0);
        expect((await d.knex(table).where({ id: p.id }).first()).name).to.equal('v');
      });
    }

    it('a version the database holds as NULL is refused at save, before any SQL', async () => {
      const p = await suite.Product.create({ name: 'v' });
      await d.knex.schema.alterTable(table, (t) => t.bigInteger('version').nullable().alter());
      // A trigger would raise a NULL written by raw SQL to a number again.
      if (kind.keptByDatabase) await dropVersionTrigger(d.knex, table, 'version');
      await d.knex(table).where({ id: p.id }).update({ version: null });
      const q = await suite.Product.get(p.id);
      q.name = 'changed';
      const { count } = await countQueries(d.knex, () => rejection(q.save(), ValidationError));
      expect(count).to.equal(0);
    });
  });
});
