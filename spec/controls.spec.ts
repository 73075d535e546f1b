import { expect } from 'chai';
import { disableConcurrency, isChanged, RecordDeletedError, RecordModifiedError, retryOnConflict, UsageError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { forEachVersionKind } from './support/models';

forEachDialect('concurrency controls', (d) => {
  forEachVersionKind(d, 'controls', (suite) => {
    const { kind, table } = suite;

    async function staleCopy() {
      const p = await suite.Product.create({ name: 'x' });
      const stale = await suite.Product.get(p.id);
      p.name = 'newer';
      await p.save();
      stale.name = 'forced';
      return { p, stale };
    }

    describe('disableConcurrency', () => {
      it('(fn): saves skip the check, the version still rises, and it returns what fn returns', async () => {
        const { p, stale } = await staleCopy();
        const result = await disableConcurrency(async () => {
          await stale.save();
          return 'done';
        });
        expect(result).to.equal('done');
        const row = await d.knex(table).where({ id: p.id }).first();
        expect(row.name).to.equal('forced');
        expect(Number(row.version)).to.equal(stale.version);
        expect(stale.version).to.be.greaterThan(p.version);
        // Copies loaded before still conflict afterwards.
        p.name = 'late';
        await rejection(p.save(), RecordModifiedError);
      });

      it('an unchecked save never reuses a version the row already had', async () => {
        const { p, stale } = await staleCopy();
        // The stale copy holds an older version than the row: the new one must still be larger.
        await disableConcurrency(() => stale.save());
        expect(stale.version).to.be.greaterThan(p.version);
      });

      it('(ModelClass, fn) and (instance, fn) limit it to that class or instance', async () => {
        const { stale } = await staleCopy();
        await disableConcurrency(suite.Product, () => stale.save());
        const second = await staleCopy();
        const third = await staleCopy();
        await disableConcurrency(second.stale, async () => {
          await second.stale.save();
          await rejection(third.stale.save(), RecordModifiedError);
        });
      });

      it('is scoped: concurrent work outside it keeps its checks, and the check is back afterwards', async () => {
        const a = await staleCopy();
        const b = await staleCopy();
        let release!: () => void;
        const gate = new Promise<void>((r) => (release = r));
        const inside = disableConcurrency(async () => {
          await gate;
          await a.stale.save();
        });
        await rejection(b.stale.save(), RecordModifiedError);
        release();
        await inside;
        const c = await staleCopy();
        await rejection(c.stale.save(), RecordModifiedError);
      });

      it('still refuses to re-insert a deleted row', async () => {
        const { p, stale } = await staleCopy();
        await d.knex(table).where({ id: p.id }).del();
        await rejection(disableConcurrency(() => stale.save()), RecordDeletedError);
        expect(await d.knex(table)).to.have.length(0);
      });

      it('applies to delete() too', async () => {
        const { p, stale } = await staleCopy();
        await disableConcurrency(() => stale.delete());
        expect(await d.knex(table).where({ id: p.id })).to.have.length(0);
      });

      it('refuses bad arguments', () => {
        expect(() => (disableConcurrency as (...a: unknown[]) => unknown)('x', () => 1)).to.throw(UsageError);
        expect(() => (disableConcurrency as (...a: unknown[]) => unknown)()).to.throw(UsageError);
      });
    });

    describe('isChanged', () => {
      it('is false for a current instance, true after another write, true when the row is gone', async () => {
        const p = await suite.Product.create({ name: 'x' });
        expect(await isChanged(p)).to.equal(false);
        const other = await suite.Product.get(p.id);
        other.name = 'y';
        await other.save();
        expect(await isChanged(p)).to.equal(true);
        expect(await isChanged(other)).to.equal(false);
        await other.delete();
        expect(await isChanged(p)).to.equal(true);
      });

      it('refuses an unsaved instance', async () => {
        await rejection(isChanged(new suite.Product()), UsageError);
      });
    });

    describe('retryOnConflict', () => {
      it('reruns the whole read-modify-write after a conflict', async () => {
        const p = await suite.Product.create({ name: 'x', stock: 0 });
        let runs = 0;
        await retryOnConflict(async () => {
          runs++;
          const c = await suite.Product.get(p.id);
          if (runs === 1) {
            // Someone else writes between our read and our save.
            await d.knex(table).where({ id: p.id }).update({ stock: 10, version: d.knex.raw('version + 1') });
          }
          c.stock += 1;
          await c.save();
        });
        expect(runs).to.equal(2);
        expect((await d.knex(table).where({ id: p.id }).first()).stock).to.equal(11);
      });

      it('gives up after `attempts` runs in all and rethrows the last error', async () => {
        const { stale } = await staleCopy();
        let runs = 0;
        await rejection(
          retryOnConflict(
            async () => {
              runs++;
              await stale.save();
            },
            { attempts: 3, delayMs: () => 0 },
          ),
          RecordModifiedError,
        );
        expect(runs).to.equal(3);
      });

      it('defaults to 5 runs', async () => {
        const { stale } = await staleCopy();
        let runs = 0;
        await rejection(
          retryOnConflict(async () => {
            runs++;
            await stale.save();
          }),
          RecordModifiedError,
        );
        expect(runs).to.equal(5);
      });

      it('rethrows RecordDeletedError at once', async () => {
        const { p, stale } = await staleCopy();
        await d.knex(table).where({ id: p.id }).del();
        let runs = 0;
        await rejection(
          retryOnConflict(async () => {
            runs++;
            await stale.save();
          }),
          RecordDeletedError,
        );
        expect(runs).to.equal(1);
      });

      it('runs a transaction opened inside fn afresh each time', async () => {
        const p = await suite.Product.create({ name: 'x', stock: 0 });
        const transactions = new Set<unknown>();
        let runs = 0;
        await retryOnConflict(async () => {
          runs++;
          const c = await suite.Product.get(p.id);
          if (runs === 1) {
            // Another writer commits between our read and our write.
            await d.connectAgain().knex(table).where({ id: p.id }).update({ stock: 5, version: d.knex.raw('version + 1') });
          }
          c.stock += 1;
          await d.db.transaction(async (trx) => {
            transactions.add(trx);
            await c.save();
          });
        });
        expect(runs).to.equal(2);
        expect(transactions.size).to.equal(2);
        expect((await d.knex(table).where({ id: p.id }).first()).stock).to.equal(6);
      });

      it('is refused inside a transaction, where a retry would reuse the failed attempt', async () => {
        await rejection(
          d.db.transaction(() => retryOnConflict(async () => 1)),
          UsageError,
        );
      });
    });
  });
});
