import { expect } from 'chai';
import { EventEmitter } from 'node:events';
import {
  AutoField,
  CharField,
  Database,
  DatabaseClosedError,
  disableConcurrency,
  MissingTriggerError,
  Model,
  RecordModifiedError,
  StatementTimeoutError,
  TransactionClosedError,
  TriggerVersionField,
} from '../lib';
import { addVersionColumn } from '../lib';
import { connectionVariants, observed, sleep } from './support/connection-variants';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createItemTable, itemModel } from './support/models';
import { recreateTable } from './support/schema';
import type { TestDialectName } from './support/dialects';

class Boom extends Error {}

/** SQL that runs past a short statement time limit, per dialect; SQLite has no statement time limit. */
const SLOW_STATEMENT: Record<TestDialectName, readonly string[] | undefined> = {
  sqlite: undefined,
  postgres: ["SET LOCAL statement_timeout = '50ms'", 'SELECT pg_sleep(2)'],
  mysql: ['SET STATEMENT max_statement_time = 0.05 FOR SELECT SLEEP(2)'],
};

/** What a caught MissingTriggerError does to the transaction around it: PostgreSQL ends it. */
const CAUGHT_MISSING_TRIGGER: Record<TestDialectName, 'commits' | 'rejects'> = { sqlite: 'commits', postgres: 'rejects', mysql: 'commits' };

/**
 * Attacks on the transaction's bounds, as a hostile caller would write them:
 * callbacks that outlive the transaction (timers, setImmediate, event
 * emitters, Promise.race losers), rejected siblings, savepoints three deep,
 * close() during COMMIT, errors caught inside the transaction.
 */
forEachDialect('transaction attacks: no statement outside its transaction, every error typed', (d) => {
  const table = 'attack_items';

  const model = (db: Database) => itemModel(db, table);
  const createTable = (db: Database) => createItemTable(db.knex, table);

  for (const variant of connectionVariants(d)) {
    describe(`(${variant.label})`, () => {
      let db: Database;
      let Item: ReturnType<typeof model>;

      before(() => {
        db = variant.open(d);
      });
      after(async () => {
        if (db !== d.db) await db.close();
      });
      beforeEach(async () => {
        await createTable(db);
        Item = model(db);
      });

      async function names(): Promise<string[]> {
        return (await db.knex(table).orderBy('id').select('name')).map((r: { name: string }) => r.name);
      }

      it('setImmediate, a timer, an event listener and a Promise.race loser, all set inside fn: each later call is refused and writes nothing', async () => {
        const p = await Item.create({ name: 'v1' });
        const emitter = new EventEmitter();
        const late: Promise<unknown>[] = [];
        await db.transaction(async () => {
          // A listener runs in the context of the code that emits: here a timer set inside fn.
          emitter.on('poke', () => late.push(observed(Item.create({ name: 'from an event' }))));
          setTimeout(() => emitter.emit('poke'), 10);
          setImmediate(() => late.push(observed(Item.create({ name: 'from setImmediate' }))));
          setTimeout(() => late.push(observed(Item.get(p.id))), 20);
          await Promise.race([Promise.resolve(), sleep(10).then(() => late.push(observed(Item.create({ name: 'race loser' }))))]);
        });
        await sleep(60);
        expect(late).to.have.length(4);
        for (const l of late) await rejection(l, TransactionClosedError);
        expect(await names()).to.deep.equal(['v1']);
      });

      it('a rejected sibling among creates, saves and deletes: nothing lands, and the next transaction on the connection is clean', async () => {
        const keep = await Item.create({ name: 'keep' });
        const gone = await Item.create({ name: 'delete me' });
        const keepVersion = keep.version;
        await rejection(
          db.transaction(async () => {
            keep.name = 'changed';
            await Promise.all([Item.create({ name: 'new' }), keep.save(), gone.delete(), sleep(5).then(() => Promise.reject(new Boom('sibling')))]);
          }),
          Boom,
        );
        await db.transaction(async () => {
          await Item.create({ name: 'next' });
        });
        await sleep(30);
        expect(await names()).to.deep.equal(['keep', 'delete me', 'next']);
        expect(keep.version).to.equal(keepVersion);
        await gone.delete();
        await keep.save();
        expect(await names()).to.deep.equal(['changed', 'next']);
      });

      it('savepoints three deep: the innermost rolls back, the middle commits, the outer sees exactly the middle', async () => {
        const a = await Item.create({ name: 'a' });
        await db.transaction(async () => {
          a.name = 'outer';
          await a.save();
          await db.transaction(async () => {
            await Item.create({ name: 'middle' });
            await rejection(
              db.transaction(async () => {
                await Item.create({ name: 'innermost' });
                await db.transaction(async () => {
                  await Item.create({ name: 'deeper still' });
                });
                throw new Boom('innermost');
              }),
              Boom,
            );
          });
        });
        expect(await names()).to.deep.equal(['outer', 'middle']);
        expect((await Item.get(a.id)).version).to.equal(a.version);
      });

      it('sibling savepoints started together run one after the other; a write on the outer between them waits', async () => {
        const outcomes = await db.transaction(async () =>
          Promise.allSettled([
            db.transaction(async () => {
              await Item.create({ name: 's1' });
              await sleep(20);
              throw new Boom('s1');
            }),
            Item.create({ name: 'outer' }),
            db.transaction(async () => {
              await Item.create({ name: 's2' });
            }),
          ]),
        );
        expect(outcomes.map((o) => o.status)).to.deep.equal(['rejected', 'fulfilled', 'fulfilled']);
        expect((await names()).sort()).to.deep.equal(['outer', 's2']);
      });

      it('a savepoint that awaits saves of its transaction begun before it: no deadlock, and they stay outside its rollback', async () => {
        const a = await Item.create({ name: 'a' });
        const stale = await Item.get(a.id);
        a.name = 'a2';
        await a.save();
        let b!: InstanceType<typeof Item>;
        await db.transaction(async () => {
          b = await Item.create({ name: 'b' });
          b.name = 'b2';
          const saving = b.save();
          stale.name = 'stale';
          const staleSave = observed(stale.save());
          await rejection(
            db.transaction(async () => {
              await saving;
              await rejection(staleSave, RecordModifiedError);
              throw new Boom('savepoint');
            }),
            Boom,
          );
        });
        expect(await names()).to.deep.equal(['a2', 'b2']);
        expect((await Item.get(b.id)).version).to.equal(b.version);
      });

      it('disableConcurrency inside a transaction: a timer after both ended writes checked, and is refused anyway', async () => {
        const p = await Item.create({ name: 'v1' });
        const stale = await Item.get(p.id);
        p.name = 'fresh';
        await p.save();
        let later: Promise<void> | undefined;
        await db.transaction(() =>
          disableConcurrency(async () => {
            setTimeout(() => {
              stale.name = 'stale';
              later = observed(stale.save());
            }, 20);
          }),
        );
        await sleep(60);
        await rejection(later!, TransactionClosedError);
        await rejection(stale.save(), RecordModifiedError);
        expect(await names()).to.deep.equal(['fresh']);
      });
    });
  }

  it('close() while a transaction commits: the transaction finishes, later calls get DatabaseClosedError', async () => {
    const db = connectionVariants(d).find((v) => v.label === 'pool of one')!.open(d);
    await createTable(db);
    const Item = model(db);
    const p = await Item.create({ name: 'v1' });
    const committing = db.transaction(async () => {
      p.name = 'committed';
      await p.save();
    });
    const closing = db.close();
    await committing;
    await closing;
    const r = await d.knex(table).where({ id: p.id }).first();
    expect(r.name).to.equal('committed');
    expect(Number(r.version)).to.equal(p.version);
    await rejection(db.transaction(async () => undefined), DatabaseClosedError);
    p.name = 'after close';
    await rejection(p.save(), DatabaseClosedError);
    expect(p.version).to.equal(Number(r.version));
  });

  it('a MissingTriggerError caught inside a transaction stays a MissingTriggerError (never a raw driver error from transaction())', async () => {
    const ttable = 'attack_triggerless';
    await recreateTable(d.knex, ttable, (t) => {
      t.increments('id');
      t.string('name', 50).notNullable();
      addVersionColumn(t);
    });
    class T extends Model {
      static table = ttable;
      static fields = { id: new AutoField(), name: new CharField({ maxLength: 50 }), version: new TriggerVersionField() };
      declare id: number;
      declare name: string;
      declare readonly version: number;
    }
    T.bind(d.db);
    const t = await T.create({ name: 'x' });
    const run = d.db.transaction(async () => {
      t.name = 'y';
      await rejection(t.save(), MissingTriggerError);
      return 'done';
    });
    if (d.pick(CAUGHT_MISSING_TRIGGER) === 'rejects') await rejection(run, MissingTriggerError);
    else expect(await run).to.equal('done');
    expect((await d.knex(ttable).where({ id: t.id }).first()).name).to.equal('x');
  });

  const slow = d.pick(SLOW_STATEMENT);
  if (slow !== undefined) {
    it('a statement cancelled for its time limit is a StatementTimeoutError, and the transaction rolls back even if fn caught it', async () => {
      const db = d.db;
      await createTable(db);
      const Item = model(db);
      const err = await rejection(
        db.transaction(async (trx) => {
          await Item.create({ name: 'doomed' });
          for (const sql of slow.slice(0, -1)) await trx.raw(sql);
          await trx.raw(slow[slow.length - 1]!).catch(() => undefined);
        }),
        StatementTimeoutError,
      );
      expect(err.message).to.match(/Nothing was written/);
      const [{ n }] = (await d.knex(table).count({ n: '*' })) as [{ n: unknown }];
      expect(Number(n)).to.equal(0);
    });
  }
});
