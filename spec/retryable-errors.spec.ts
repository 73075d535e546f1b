import { expect } from 'chai';
import { RecordModifiedError, RetryableError, retryOnConflict, type RetryReason } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, VERSION_KINDS } from './support/models';
import { gate, openSession, Session, SessionOptions, settle, waitingForLock } from './support/session';

class Boom extends Error {}

/**
 * Scripted interleavings on two connections, each a pool of one with a short
 * lock timeout. A "holder" transaction writes a row and keeps it locked; a
 * "waiter" writes the same row; the holder then commits or rolls back.
 * Database errors that mean "run it again" arrive as `RetryableError`, with
 * the whole transaction rolled back and its instances restored.
 */
forEachDialect('database errors that mean "run it again"', (d) => {
  const table = 'retry_products';
  const kind = VERSION_KINDS[1]!;
  const sessions: Session[] = [];
  const session = (o: SessionOptions = {}): Session => {
    const s = openSession(d, table, kind, o);
    sessions.push(s);
    return s;
  };

  beforeEach(async () => {
    await createProductTable(d.knex, table);
  });

  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });

  async function row(id: number): Promise<{ stock: number; version: number; name: string }> {
    const r = await d.knex(table).where({ id }).first();
    return { stock: Number(r.stock), version: Number(r.version), name: r.name };
  }

  for (const k of VERSION_KINDS) {
    describe(k.name, () => {
      for (const holderCommits of [true, false]) {
        it(`holder ${holderCommits ? 'commits -> waiter conflicts' : 'rolls back -> waiter succeeds'} (a save blocked on the holder's lock)`, async () => {
          const H = openSession(d, table, k);
          const W = openSession(d, table, k);
          sessions.push(H, W);
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
  // SQLite: a deferred `BEGIN` (a Knex instance built by the user) cannot
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
      const wid = await idOf(W);
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

  // The holder keeps row b locked past the waiter's lock timeout. The waiter
  // wrote row a first, then swallows the error and returns normally: MariaDB
  // would still commit row a. SQLite's BEGIN IMMEDIATE waits for the write
  // lock up front, so there the transaction fails before it starts.
  const lockTimeout = d.pick({
    sqlite: { reason: 'busy', phase: 'begin', ran: false },
    postgres: { reason: 'lock-timeout', phase: 'statement', ran: true },
    mysql: { reason: 'lock-timeout', phase: 'statement', ran: true },
  } as const);

  it(`a lock wait timeout ends the whole transaction (${lockTimeout.reason}), even when the caller swallows it: nothing is half-committed`, async () => {
    const H = session();
    const W = session({ lockTimeoutMs: 300 });
    const a = await H.Product.create({ name: 'a' });
    const b = await H.Product.create({ name: 'b' });
    const wa = await W.Product.get(a.id);
    const wb = await W.Product.get(b.id);
    const aVersion = wa.version;
    let ran = false;
    let swallowed: unknown;
    let outcome!: Awaited<ReturnType<typeof settle<string>>>;
    await H.db.transaction(async () => {
      const hb = await H.Product.get(b.id);
      hb.stock = 1;
      await hb.save();
      outcome = await settle(
        W.db.transaction(async () => {
          ran = true;
          wa.stock = 5;
          await wa.save();
          wb.stock = 5;
          await wb.save().catch((e: unknown) => (swallowed = e));
          return 'the caller carried on';
        }),
      );
    });
    expect(outcome.ok).to.equal(false);
    const err = !outcome.ok ? (outcome.error as RetryableError) : undefined;
    expect(err).to.be.instanceOf(RetryableError);
    expect(err!.reason).to.equal(lockTimeout.reason);
    expect(err!.phase).to.equal(lockTimeout.phase);
    expect(ran).to.equal(lockTimeout.ran);
    if (ran) expect(swallowed).to.equal(err);
    // Row a was not committed, and the instance is back to before the transaction.
    expect((await row(a.id)).stock).to.equal(0);
    expect(wa.version).to.equal(aVersion);
    expect(wa.stock).to.equal(ran ? 5 : 0);
    // The waiter's one connection is usable and not stuck in a transaction.
    wa.stock = 6;
    await wa.save();
    expect((await row(a.id)).stock).to.equal(6);
    expect((await row(b.id)).stock).to.equal(1);
  });

  it('a bulk query().update() blocked past the lock timeout raises the same RetryableError and changes nothing', async () => {
    const H = session();
    const W = session({ lockTimeoutMs: 300 });
    const b = await H.Product.create({ name: 'b' });
    let outcome!: Awaited<ReturnType<typeof settle<number>>>;
    await H.db.transaction(async () => {
      const hb = await H.Product.get(b.id);
      hb.stock = 1;
      await hb.save();
      outcome = await settle(W.Product.query().where('id', b.id).update({ stock: 7 }));
    });
    expect(!outcome.ok && outcome.error).to.be.instanceOf(RetryableError);
    expect((outcome as { error: RetryableError }).error.reason).to.equal(d.pick({ sqlite: 'busy', postgres: 'lock-timeout', mysql: 'lock-timeout' }));
    expect((await row(b.id)).stock).to.equal(1);
    expect(await W.Product.query().where('id', b.id).update({ stock: 7 })).to.equal(1);
  });

  // Two transactions each lock one row, then want the other's. PostgreSQL and
  // MariaDB break the deadlock by aborting one. SQLite never gets there:
  // BEGIN IMMEDIATE makes the second writer wait for the first up front, and
  // it gives up when its busy timeout expires.
  const deadlockReason = d.pick<RetryReason>({ sqlite: 'busy', postgres: 'deadlock', mysql: 'deadlock' });

  it(`crossing writes: exactly one transaction fails with RetryableError (${deadlockReason}) and none of its writes remain`, async () => {
    const A = session();
    const B = session({ lockTimeoutMs: d.pick({ sqlite: 300, postgres: 5000, mysql: 5000 }) });
    const r1 = await A.Product.create({ name: 'r1' });
    const r2 = await A.Product.create({ name: 'r2' });
    const aHolds = gate();
    const bHolds = gate();
    const crossing = (S: Session, first: number, second: number, value: number, mine: ReturnType<typeof gate>, theirs: ReturnType<typeof gate>) =>
      settle(
        S.db.transaction(async () => {
          const x = await S.Product.get(first);
          x.stock = value;
          await x.save();
          mine.open();
          await theirs.opened;
          const y = await S.Product.get(second);
          y.stock = value;
          await y.save();
        }),
      ).finally(() => mine.open());
    const ta = crossing(A, r1.id, r2.id, 1, aHolds, bHolds);
    await aHolds.opened;
    const tb = crossing(B, r2.id, r1.id, 2, bHolds, aHolds);
    const outcomes = await Promise.all([ta, tb]);
    const failed = outcomes.filter((o) => !o.ok).map((o) => (o as { error: unknown }).error);
    expect(failed, failed.map(String).join('; ')).to.have.length(1);
    expect(failed[0]).to.be.instanceOf(RetryableError);
    expect((failed[0] as RetryableError).reason).to.equal(deadlockReason);
    const winner = outcomes[0]!.ok ? 1 : 2;
    expect([(await row(r1.id)).stock, (await row(r2.id)).stock]).to.deep.equal([winner, winner]);
  });

  // Write skew under SERIALIZABLE: each reads both rows and zeroes a different
  // one; run one after the other, the second would see the first's write.
  // PostgreSQL notices at the second COMMIT; MariaDB's SERIALIZABLE reads take
  // shared locks, so the writes deadlock; SQLite serialises the writers.
  const skew = d.pick({
    sqlite: { reason: 'busy', phase: 'begin' },
    postgres: { reason: 'serialization', phase: 'commit' },
    mysql: { reason: 'deadlock', phase: 'statement' },
  } as const);

  it(`write skew under SERIALIZABLE fails one transaction with RetryableError (${skew.reason} at ${skew.phase}), instances restored`, async () => {
    const A = session();
    const B = session({ lockTimeoutMs: d.pick({ sqlite: 300, postgres: 5000, mysql: 5000 }) });
    const r1 = await A.Product.create({ name: 'on call 1', stock: 1 });
    const r2 = await A.Product.create({ name: 'on call 2', stock: 1 });
    const [aRead, bRead, aWriting, bWrote, aDone] = [gate(), gate(), gate(), gate(), gate()];
    const saved: { A?: { version: number }; B?: { version: number } } = {};
    const serializable = { isolationLevel: 'serializable' as const };
    const t1 = settle(
      A.db.transaction(async () => {
        const x = await A.Product.get(r1.id);
        await A.Product.get(r2.id);
        saved.A = x;
        aRead.open();
        await bRead.opened;
        x.stock = 0;
        aWriting.open();
        await x.save();
        await bWrote.opened;
      }, serializable),
    ).finally(() => [aRead, aWriting, aDone].forEach((g) => g.open()));
    const t2 = settle(
      B.db.transaction(async () => {
        await B.Product.get(r1.id);
        const y = await B.Product.get(r2.id);
        saved.B = y;
        bRead.open();
        await aWriting.opened;
        y.stock = 0;
        await y.save();
        bWrote.open();
        await aDone.opened;
      }, serializable),
    ).finally(() => [bRead, bWrote].forEach((g) => g.open()));
    const outcomes = await Promise.all([t1, t2]);
    const failed = outcomes.filter((o) => !o.ok).map((o) => (o as { error: unknown }).error);
    expect(failed, failed.map(String).join('; ')).to.have.length(1);
    const err = failed[0] as RetryableError;
    expect(err).to.be.instanceOf(RetryableError);
    expect([err.reason, err.phase]).to.deep.equal([skew.reason, skew.phase]);
    // The invariant holds: someone is still on call.
    const stocks = [(await row(r1.id)).stock, (await row(r2.id)).stock];
    expect(stocks).to.include(1);
    // The failed transaction's instance holds its old version again.
    if (outcomes[0]!.ok) expect(saved.B?.version ?? r2.version).to.equal(r2.version);
    else expect(saved.A?.version ?? r1.version).to.equal(r1.version);
  });

  // A COMMIT that cannot finish. SQLite in rollback-journal mode (a user's
  // own file and Knex instance) needs every reader gone before it can commit,
  // and reports BUSY while keeping the transaction open; PostgreSQL and MariaDB
  // readers never block a commit.
  const commitBusy = d.pick<RetryReason | null>({ sqlite: 'busy', postgres: null, mysql: null });

  it(`a COMMIT blocked by a reader ${commitBusy ? 'is reported as RetryableError, never as success, and leaves no transaction open' : 'commits (readers never block a commit here)'}`, async () => {
    const file = d.name === 'sqlite' ? d.url.replace(/^sqlite:/, '').replace(/\.db$/, '-journal-mode.db') : undefined;
    const A = session({ userKnex: true, sqliteFile: file, lockTimeoutMs: 200 });
    const B = session({ userKnex: true, sqliteFile: file });
    await createProductTable(A.db.knex, table);
    const p = await A.Product.create({ name: 'x' });
    const readerHolds = gate();
    const release = gate();
    const reader = B.db.transaction(async () => {
      await B.Product.get(p.id);
      readerHolds.open();
      await release.opened;
    });
    await readerHolds.opened;
    const a = await A.Product.get(p.id);
    const held = a.version;
    a.stock = 3;
    const out = await settle(A.db.transaction(() => a.save()));
    release.open();
    await reader;
    const committed = async () => Number((await B.db.knex(table).where({ id: p.id }).first()).stock);
    if (commitBusy === null) {
      expect(out.ok, out.ok ? '' : String(out.error)).to.equal(true);
      expect(await committed()).to.equal(3);
      return;
    }
    expect(!out.ok && out.error).to.be.instanceOf(RetryableError);
    const err = (out as { error: RetryableError }).error;
    expect([err.reason, err.phase]).to.deep.equal([commitBusy, 'commit']);
    expect(a.version).to.equal(held);
    expect(await committed()).to.equal(0);
    // Were the connection still inside the failed transaction, this save would
    // join it and stay invisible to the reader's connection.
    await a.save();
    expect(await committed()).to.equal(3);
  });

  async function idOf(s: Session): Promise<number | undefined> {
    return s.connectionId();
  }
});
