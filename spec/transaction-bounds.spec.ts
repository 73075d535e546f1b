import { expect } from 'chai';
import {
  Database,
  DatabaseClosedError,
  disableConcurrency,
  disableIncrement,
  RecordModifiedError,
  TransactionClosedError,
} from '../lib';
import { connectionVariants, sleep } from './support/connection-variants';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createItemTable, itemModel } from './support/models';

class Boom extends Error {}

/**
 * Issue 8's four defects, each on every way of connecting: writes escaping a
 * rolled-back transaction, a write acknowledged then undone by a savepoint's
 * rollback, an assignment made during a save forgotten, and scoped switches
 * leaking into timers. Each spec failed on the code before the transaction
 * protocol was rebuilt.
 */
forEachDialect('transaction bounds: no write escapes its transaction or its check', (d) => {
  const table = 'bounds_items';

  const model = (db: Database) => itemModel(db, table);

  for (const variant of connectionVariants(d)) {
    describe(`(${variant.label})`, () => {
      let db: Database;
      let Item: ReturnType<typeof model>;
      let owned = false;

      before(() => {
        db = variant.open(d);
        owned = db !== d.db;
      });

      after(async () => {
        if (owned) await db.close();
      });

      beforeEach(async () => {
        await createItemTable(db.knex, table);
        Item = model(db);
      });

      async function row(id: number): Promise<{ name: string; version: number }> {
        const r = await db.knex(table).where({ id }).first();
        return { name: r.name, version: Number(r.version) };
      }

      it('1. a save whose Promise.all sibling rejected never lands after the rollback, and its instance is as before', async () => {
        const rows = [await Item.create({ name: 'before' }), await Item.create({ name: 'before' })];
        const versions = rows.map((r) => r.version);
        await rejection(
          db.transaction(async () => {
            await Promise.all([
              ...rows.map((r) => {
                r.name = 'inside';
                return r.save();
              }),
              Promise.reject(new Boom('abort')),
            ]);
          }),
          Boom,
        );
        await sleep(100);
        for (const [i, r] of rows.entries()) {
          expect(await row(r.id)).to.deep.equal({ name: 'before', version: versions[i] });
          expect(r.version).to.equal(versions[i]);
        }
        // A second transaction on the same connection rolls back: nothing stray lands in it either.
        await rejection(
          db.transaction(async () => {
            await Item.create({ name: 'second' });
            throw new Boom('again');
          }),
          Boom,
        );
        await sleep(50);
        for (const [i, r] of rows.entries()) expect(await row(r.id)).to.deep.equal({ name: 'before', version: versions[i] });
        // The instances write their unsaved change with the right version.
        for (const r of rows) await r.save();
        for (const r of rows) expect(await row(r.id)).to.deep.equal({ name: 'inside', version: r.version });
      });

      it('2. a save on the outer transaction while a savepoint is open waits for it, and is never undone by its rollback', async () => {
        const a = await Item.create({ name: 'a0' });
        let release!: () => void;
        const gate = new Promise<void>((resolve) => (release = resolve));
        let savedWhileOpen = false;
        await db.transaction(async () => {
          const inner = db
            .transaction(async () => {
              await Item.create({ name: 'inner' });
              await gate;
              throw new Boom('savepoint rolls back');
            })
            .catch((err: unknown) => {
              if (!(err instanceof Boom)) throw err;
            });
          await sleep(30);
          a.name = 'outer';
          const saving = a.save().then(() => {
            savedWhileOpen = !innerDone;
          });
          let innerDone = false;
          await sleep(30);
          innerDone = true;
          release();
          await inner;
          await saving;
        });
        expect(savedWhileOpen).to.equal(false);
        expect(await row(a.id)).to.deep.equal({ name: 'outer', version: a.version });
        expect(await db.knex(table).where({ name: 'inner' }).first()).to.equal(undefined);
      });

      it('3. an assignment made while a save is in flight stays unsaved, and the next save writes it', async () => {
        const p = await Item.create({ name: 'a' });
        p.name = 'b';
        const s = p.save();
        p.name = 'c';
        await s;
        expect(await row(p.id)).to.deep.equal({ name: 'b', version: p.version });
        await p.save();
        expect(await row(p.id)).to.deep.equal({ name: 'c', version: p.version });
      });

      it('3. a JSON document changed in place while its save is in flight is written by the next save', async () => {
        const p = await Item.create({ name: 'j', doc: { n: 1 } });
        (p.doc as { n: number }).n = 2;
        const s = p.save();
        (p.doc as { n: number }).n = 3;
        await s;
        await p.save();
        const r = await Item.get(p.id);
        expect(r.doc).to.deep.equal({ n: 3 });
        expect(r.version).to.equal(p.version);
      });

      it('3. an assignment made while create() inserts is written by the next save', async () => {
        const p = new Item();
        p.name = 'first';
        const s = p.save();
        p.name = 'second';
        await s;
        await p.save();
        expect(await row(p.id)).to.deep.equal({ name: 'second', version: p.version });
      });

      it('3. two concurrent saves of one instance are serialized: no spurious conflict, the last value wins', async () => {
        const p = await Item.create({ name: 'x0' });
        const before = p.version;
        p.name = 'x1';
        const first = p.save();
        p.name = 'x2';
        const second = p.save();
        await Promise.all([first, second]);
        expect(await row(p.id)).to.deep.equal({ name: 'x2', version: before + 2 });
        expect(p.version).to.equal(before + 2);
      });

      it('3. inside a transaction too: Promise.all of saves of many instances and of one instance twice', async () => {
        const items = await Promise.all([1, 2, 3, 4, 5].map((n) => Item.create({ name: `n${n}` })));
        await db.transaction(async () => {
          await Promise.all(
            items.flatMap((it) => {
              it.name = `${it.name}a`;
              const one = it.save();
              it.name = `${it.name}b`;
              return [one, it.save()];
            }),
          );
        });
        for (const it of items) expect(await row(it.id)).to.deep.equal({ name: it.name, version: it.version });
      });

      it('4. disableConcurrency() ends when fn settles: a timer it set later writes checked', async () => {
        const p = await Item.create({ name: 'v1' });
        const stale = await Item.get(p.id);
        p.name = 'fresh';
        await p.save();
        let later: Promise<void> | undefined;
        await disableConcurrency(async () => {
          setTimeout(() => {
            stale.name = 'stale write';
            later = stale.save();
          }, 30);
        });
        await sleep(80);
        await rejection(later!, RecordModifiedError);
        expect(await row(p.id)).to.deep.equal({ name: 'fresh', version: p.version });
      });

      it('4. disableIncrement() ends when fn settles, also for a synchronous fn: a callback run later raises the version', async () => {
        const p = await Item.create({ name: 'v1' });
        const before = p.version;
        let later: Promise<void> | undefined;
        disableIncrement(() => {
          setImmediate(() => {
            p.name = 'later';
            later = p.save();
          });
        });
        await sleep(30);
        await later;
        expect(p.version).to.equal(before + 1);
      });

      it('a model call from a timer that fires after its transaction ended is refused, writes nothing, leaves the instance as it was', async () => {
        const p = await Item.create({ name: 'v1' });
        const version = p.version;
        let later: Promise<void> | undefined;
        await db.transaction(async () => {
          setTimeout(() => {
            p.name = 'too late';
            later = p.save();
          }, 30);
        });
        await sleep(80);
        await rejection(later!, TransactionClosedError);
        expect(await row(p.id)).to.deep.equal({ name: 'v1', version });
        expect(p.version).to.equal(version);
        expect(p.name).to.equal('too late');
        // Outside the transaction, it saves.
        await p.save();
        expect(await row(p.id)).to.deep.equal({ name: 'too late', version: p.version });
      });

      it('an unawaited save started inside the transaction finishes before COMMIT', async () => {
        const p = await Item.create({ name: 'v1' });
        let unawaited: Promise<void> | undefined;
        await db.transaction(async () => {
          p.name = 'fire and forget';
          unawaited = p.save();
        });
        await unawaited;
        expect(await row(p.id)).to.deep.equal({ name: 'fire and forget', version: p.version });
      });
    });
  }

  it('db.close() with saves in flight: each save either landed or rejects with DatabaseClosedError, its instance as before', async () => {
    const db = connectionVariants(d).find((c) => c.label === 'pool of one')!.open(d);
    await createItemTable(db.knex, table);
    const Item = model(db);
    const items = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((n) => Item.create({ name: `c${n}` })));
    const versions = items.map((it) => it.version);
    const saves = items.map((it) => {
      it.name = `${it.name}!`;
      return it.save().then(
        () => 'saved' as const,
        (err: unknown) => err,
      );
    });
    const closing = db.close();
    const outcomes = await Promise.all(saves);
    await closing;
    await rejection(Item.get(items[0]!.id), DatabaseClosedError);
    for (const [i, outcome] of outcomes.entries()) {
      const r = await d.knex(table).where({ id: items[i]!.id }).first();
      if (outcome === 'saved') {
        expect(r.name).to.equal(items[i]!.name);
        expect(Number(r.version)).to.equal(items[i]!.version);
      } else {
        expect(outcome, String(outcome)).to.be.instanceOf(DatabaseClosedError);
        expect(Number(r.version)).to.equal(versions[i]);
        expect(items[i]!.version).to.equal(versions[i]);
      }
    }
  });
});
