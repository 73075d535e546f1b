import { expect } from 'chai';
import type { Knex } from 'knex';
import { RetryableError, type RetryReason } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, VERSION_KINDS } from './support/models';
import { committedRow, gate, Session, settle, useSessions } from './support/session';

/**
 * A database error that means "run it again" ends the whole transaction:
 * it is rolled back at once, even when the caller swallows the error, its
 * instances are restored, and the connection is usable afterwards. Scripts
 * on two one-connection sessions with short lock timeouts.
 */
forEachDialect('transaction failures: rolled back as a whole, never half-committed', (d) => {
  const table = 'failing_products';
  const kind = VERSION_KINDS[1]!;
  const session = useSessions(d, table, kind);
  const row = (id: number) => committedRow(d, table, id);

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

  /**
   * Crossing writes: sessions A and B each save one of two rows in a
   * transaction (A row 1 with stock 1, B row 2 with stock 2), wait until the
   * other holds its row, then run `then` on the other's row in the same
   * transaction. B starts once A holds its row. Resolves with both outcomes, A's first.
   */
  async function crossWrites(then: (S: Session, trx: Knex.Transaction, otherId: number, value: 1 | 2) => Promise<void>) {
    const A = session();
    const B = session({ lockTimeoutMs: d.pick({ sqlite: 300, postgres: 5000, mysql: 5000 }) });
    const r1 = await A.Product.create({ name: 'r1' });
    const r2 = await A.Product.create({ name: 'r2' });
    const [aHolds, bHolds] = [gate(), gate()];
    const crossing = (S: Session, first: number, second: number, value: 1 | 2, mine: ReturnType<typeof gate>, theirs: ReturnType<typeof gate>) =>
      settle(
        S.db.transaction(async (trx) => {
          const x = await S.Product.get(first);
          x.stock = value;
          await x.save();
          mine.open();
          await theirs.opened;
          await then(S, trx, second, value);
        }),
      ).finally(() => mine.open());
    const ta = crossing(A, r1.id, r2.id, 1, aHolds, bHolds);
    await aHolds.opened;
    const tb = crossing(B, r2.id, r1.id, 2, bHolds, aHolds);
    return { outcomes: await Promise.all([ta, tb]), r1, r2 };
  }

  // Two transactions each lock one row, then want the other's. PostgreSQL and
  // MariaDB break the deadlock by aborting one. SQLite never gets there:
  // BEGIN IMMEDIATE makes the second writer wait for the first up front, and
  // it gives up when its busy timeout expires.
  const deadlockReason = d.pick<RetryReason>({ sqlite: 'busy', postgres: 'deadlock', mysql: 'deadlock' });

  it(`crossing writes: exactly one transaction fails with RetryableError (${deadlockReason}) and none of its writes remain`, async () => {
    const { outcomes, r1, r2 } = await crossWrites(async (S, _trx, otherId, value) => {
      const y = await S.Product.get(otherId);
      y.stock = value;
      await y.save();
    });
    const failed = outcomes.filter((o) => !o.ok).map((o) => (o as { error: unknown }).error);
    expect(failed, failed.map(String).join('; ')).to.have.length(1);
    expect(failed[0]).to.be.instanceOf(RetryableError);
    expect((failed[0] as RetryableError).reason).to.equal(deadlockReason);
    const winner = outcomes[0]!.ok ? 1 : 2;
    expect([(await row(r1.id)).stock, (await row(r2.id)).stock]).to.deep.equal([winner, winner]);
  });

  // The same crossing writes, with one of the caller's own inserts sent right
  // behind the second UPDATE. After a deadlock MariaDB has rolled the
  // transaction back, and the driver sends the queued insert at once: it
  // would be autocommitted before the library's ROLLBACK.
  it('a query of your own sent right behind the statement that deadlocks is never committed on its own', async () => {
    const { outcomes } = await crossWrites(async (S, trx, otherId, value) => {
      const y = await S.Product.get(otherId);
      y.stock = value;
      const updating = new Promise<void>((resolve) => S.db.knex.on('query', (q: { sql: string }) => /^update/i.test(q.sql) && resolve()));
      const saving = y.save();
      await updating;
      await Promise.all([saving, trx(table).insert({ name: `pipelined ${value}`, description: '', stock: value, version: 1 })]);
    });
    expect(outcomes.filter((o) => !o.ok), 'one transaction failed').to.have.length(1);
    const loser = outcomes[0]!.ok ? 2 : 1;
    const pipelined = await d.knex(table).where('name', 'like', 'pipelined%').orderBy('name').select('name');
    expect(pipelined.map((r: { name: string }) => r.name)).to.deep.equal([`pipelined ${3 - loser}`]);
  });

  // The same crossing writes, the second one inside a savepoint whose error
  // the outer callback catches before writing a marker row. After a deadlock
  // MariaDB has rolled the whole transaction back; Knex then takes the failed
  // RELEASE SAVEPOINT (1305) for success, and the marker would autocommit.
  it('a failure inside a savepoint ends the whole transaction, even when the outer callback catches it and carries on', async () => {
    const caught: unknown[] = [];
    const { outcomes } = await crossWrites(async (S, _trx, otherId, value) => {
      await S.db
        .transaction(async () => {
          const y = await S.Product.get(otherId);
          y.stock = value;
          await y.save();
        })
        .catch((e: unknown) => caught.push(e));
      await S.Product.create({ name: value === 1 ? 'marker A' : 'marker B' }).catch((e: unknown) => caught.push(e));
    });
    const failed = outcomes.filter((o) => !o.ok).map((o) => (o as { error: unknown }).error);
    expect(failed, failed.map(String).join('; ')).to.have.length(1);
    expect((failed[0] as RetryableError).reason).to.equal(deadlockReason);
    for (const e of caught) expect(e).to.equal(failed[0]);
    const markers = (await d.knex(table).whereIn('name', ['marker A', 'marker B']).orderBy('name')).map((r: { name: string }) => r.name);
    expect(markers).to.deep.equal([outcomes[0]!.ok ? 'marker A' : 'marker B']);
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
    // A reader of its own making (Knex's transaction, deferred): db.transaction()
    // would begin IMMEDIATE and hold the write lock instead of a read lock.
    const reader = B.db.knex.transaction(async (trx) => {
      await trx(table).where({ id: p.id }).first();
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
});
