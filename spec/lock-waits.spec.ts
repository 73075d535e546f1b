import { expect } from 'chai';
import { RecordModifiedError, RetryableError, retryOnConflict, type RetryReason } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { VERSION_KINDS } from './support/models';
import { committedRow, gate, Session, settle, useSessions, waitingForLock } from './support/session';

class Boom extends Error {}

/**
 * Scripted interleavings on two connections, each a pool of one with a short
 * lock timeout. A "holder" transaction writes a row and keeps it locked; a
 * "waiter" writes the same row; the holder then commits or rolls back. The
 * waiter conflicts in the first case and succeeds in the second; a waiter
 * whose transaction read the row before the holder committed gets a
 * `RetryableError`, which retryOnConflict() runs again.
 */
forEachDialect('lock waits: holder commits -> waiter conflicts, holder rolls back -> waiter succeeds', (d) => {
  const table = 'lock_wait_products';
  const kind = VERSION_KINDS[1]!;
  const session = useSessions(d, table, kind);
  const row = (id: number) => committedRow(d, table, id);

  for (const k of VERSION_KINDS) {
    describe(k.name, () => {
      for (const holderCommits of [true, false]) {
        it(`holder ${holderCommits ? 'commits -> waiter conflicts' : 'rolls back -> waiter succeeds'} (a save blocked on the holder's lock)`, async () => {
          await k.install?.(d.knex, table);
          const H = session({ kind: k });
          const W = session({ kind: k });
          const p = await H.Product.create({ name: 'x' });
          const w = await W.Product.get(p.id);
          const wid = await W.connectionId();
          const held = w.version;
          w.stock = 2;
          let waiter!: ReturnType<typeof settle<void>>;
          const script = H.db.transaction(async () => {
            const h = await H.Product.get(p.id);
            h.stock = 1;
            await h.save();
            waiter = settle(w.save());
            await waitingForLock(d, wid);
            if (!holderCommits) throw new Boom('holder rolls back');
          });
          if (holderCommits) await script;
          else await script.catch((e: unknown) => expect(e).to.be.instanceOf(Boom));
          const out = await waiter;
          if (holderCommits) {
            expect(out.ok).to.equal(false);
            expect(!out.ok && out.error).to.be.instanceOf(RecordModifiedError);
            expect(w.version).to.equal(held);
            expect((await row(p.id)).stock).to.equal(1);
          } else {
            expect(out.ok, out.ok ? '' : String(out.error)).to.equal(true);
            expect(k.isNext(held, w.version)).to.equal(true);
            expect((await row(p.id)).stock).to.equal(2);
          }
        });
      }
    });
  }

  // A transaction that read the row before a concurrent writer got to it.
  // SQLite: a deferred `BEGIN` (a client class of the user's that begins so) cannot
  // upgrade a stale WAL snapshot. PostgreSQL: REPEATABLE READ. MariaDB:
  // REPEATABLE READ with innodb_snapshot_isolation (the default from 11.6);
  // a server without that variable re-reads the latest row instead, and the
  // compare-and-swap reports the conflict.
  type Isolation = 'repeatable read' | undefined;
  const isolation = d.pick<Isolation>({ sqlite: undefined, postgres: 'repeatable read', mysql: 'repeatable read' });
  const isolationOptions = isolation ? { isolationLevel: isolation } : undefined;
  let snapshotIsolation = true;
  before(async () => {
    if (d.name !== 'mysql') return;
    const [rows] = (await d.knex.raw("SHOW VARIABLES LIKE 'innodb_snapshot_isolation'")) as [unknown[]];
    snapshotIsolation = rows.length > 0;
    if (!snapshotIsolation) console.warn('    (this MariaDB/MySQL has no innodb_snapshot_isolation: expecting RecordModifiedError instead of ER_CHECKREAD)');
  });
  const snapshotSession = (): Session => session({ userKnex: true, snapshotIsolation });
  const snapshotReason = d.pick<RetryReason>({ sqlite: 'busy', postgres: 'serialization', mysql: 'serialization' });
  // SQLite's deferred transaction cannot wait for the write lock once it has
  // read (waiting could deadlock), so it fails at once, whatever the holder
  // does next; retryOnConflict() runs it again. The others wait and succeed.
  const snapshotOnRollback = d.pick<RetryReason | null>({ sqlite: 'busy', postgres: null, mysql: null });

  for (const holderCommits of [true, false]) {
    const expected = holderCommits ? snapshotReason : snapshotOnRollback;
    it(`a transaction that read first: holder ${holderCommits ? 'commits' : 'rolls back'} -> waiter ${expected ? `gets RetryableError (${expected})` : 'succeeds'}`, async () => {
      const H = session();
      const W = snapshotSession();
      const p = await H.Product.create({ name: 'x' });
      const wid = await W.connectionId();
      const [wRead, hHolds] = [gate(), gate()];
      let w: InstanceType<typeof W.Product> | undefined;
      const waiter = settle(
        W.db.transaction(async () => {
          w = await W.Product.get(p.id);
          wRead.open();
          await hHolds.opened;
          w.stock = 2;
          await w.save();
        }, isolationOptions),
      ).finally(() => wRead.open());
      await wRead.opened;
      const holder = H.db.transaction(async () => {
        const h = await H.Product.get(p.id);
        h.stock = 1;
        await h.save();
        hHolds.open();
        await waitingForLock(d, wid);
        if (!holderCommits) throw new Boom('holder rolls back');
      });
      await holder.catch((e: unknown) => expect(e).to.be.instanceOf(Boom));
      const out = await waiter;
      if (expected !== null) {
        expect(out.ok).to.equal(false);
        const err = !out.ok ? out.error : undefined;
        if (d.name === 'mysql' && !snapshotIsolation) {
          expect(err).to.be.instanceOf(RecordModifiedError);
        } else {
          expect(err, String(err)).to.be.instanceOf(RetryableError);
          expect((err as RetryableError).reason).to.equal(expected);
          expect((err as RetryableError).cause).to.be.an('error');
          expect((err as RetryableError).message).to.match(/run it again/);
        }
        expect(w!.version).to.equal(p.version);
        expect((await row(p.id)).stock).to.equal(holderCommits ? 1 : 0);
      } else {
        expect(out.ok, out.ok ? '' : String(out.error)).to.equal(true);
        expect((await row(p.id)).stock).to.equal(2);
      }
      // The waiter's connection is back in its pool, usable and outside any transaction.
      const again = await W.Product.get(p.id);
      again.name = 'after';
      await again.save();
      expect((await row(p.id)).name).to.equal('after');
    });
  }

  it('retryOnConflict() runs a transaction that got RetryableError again, and the second run lands', async () => {
    const H = session();
    const W = snapshotSession();
    const p = await H.Product.create({ name: 'x', stock: 0 });
    const errors: unknown[] = [];
    let runs = 0;
    await retryOnConflict(async () => {
      runs++;
      try {
        await W.db.transaction(
          async () => {
            const w = await W.Product.get(p.id);
            if (runs === 1) {
              const h = await H.Product.get(p.id);
              h.stock += 10;
              await h.save();
            }
            w.stock += 1;
            await w.save();
          },
          isolationOptions,
        );
      } catch (err) {
        errors.push(err);
        throw err;
      }
    });
    expect(runs).to.equal(2);
    expect(errors).to.have.length(1);
    expect(errors[0]).to.be.instanceOf(d.name === 'mysql' && !snapshotIsolation ? RecordModifiedError : RetryableError);
    expect((await row(p.id)).stock).to.equal(11);
  });
});
