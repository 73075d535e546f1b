import { expect } from 'chai';
import type { Knex } from 'knex';
import { RecordDeletedError, RecordModifiedError, RetryableError, retryOnConflict, type ConflictEvent, type DeletedEvent, type RetryEvent } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { type Session, useSessions } from './support/session';

// Contention made visible: db.on(...) events and db.stats() counters.
forEachDialect('observability: db.on() and db.stats()', (d) => {
  const kind = VERSION_KINDS.find((k) => k.name === 'AutoIncVersionField') ?? VERSION_KINDS[0]!;
  const table = 'observed_products';
  let Product: ReturnType<typeof productModel>;
  const listeners: [string, (e: never) => void][] = [];

  function listen<E extends 'conflict' | 'deleted' | 'retry'>(event: E, fn: (e: E extends 'conflict' ? ConflictEvent : E extends 'deleted' ? DeletedEvent : RetryEvent) => void): void {
    d.db.on(event, fn as never);
    listeners.push([event, fn as never]);
  }

  beforeEach(async () => {
    await createProductTable(d.knex, table, kind);
    Product = productModel(d.db, table, kind);
    d.db.resetStats();
  });
  afterEach(() => {
    for (const [event, fn] of listeners.splice(0)) d.db.off(event as 'conflict', fn as never);
  });

  it('stats() counts saves, conflicts and deletions met, in total and per model; a save that writes nothing is not counted', async () => {
    const p = await Product.create({ name: 'a' });
    const stale = await Product.get(p.id);
    p.name = 'b';
    await p.save();
    await p.save(); // nothing changed: no statement, no count
    stale.name = 'c';
    await rejection(stale.save(), RecordModifiedError);
    const doomed = await Product.create({ name: 'd' });
    const late = await Product.get(doomed.id);
    await doomed.delete();
    late.name = 'e';
    await rejection(late.save(), RecordDeletedError);
    const stats = d.db.stats();
    expect(stats).to.deep.include({ saves: 3, conflicts: 1, deleted: 1, retries: 0 });
    expect(stats.byModel).to.deep.equal({ Product: { saves: 3, conflicts: 1, deleted: 1, retries: 0 } });
    // A snapshot: later work does not change it.
    await Product.create({ name: 'f' });
    expect(stats.saves).to.equal(3);
    expect(d.db.stats().saves).to.equal(4);
    d.db.resetStats();
    expect(d.db.stats()).to.deep.include({ saves: 0, conflicts: 0, deleted: 0, retries: 0 });
  });

  it("'conflict' and 'deleted' events carry model, key, versions and the conflicting fields", async () => {
    const conflicts: ConflictEvent[] = [];
    const deletions: DeletedEvent[] = [];
    listen('conflict', (e) => conflicts.push(e));
    listen('deleted', (e) => deletions.push(e));
    const p = await Product.create({ name: 'a', stock: 1 });
    const stale = await Product.get(p.id);
    p.name = 'theirs';
    await p.save();
    stale.name = 'mine';
    await rejection(stale.save(), RecordModifiedError);
    expect(conflicts).to.deep.equal([{ model: 'Product', pk: p.id, operation: 'update', expectedVersion: stale.version, actualVersion: p.version, conflictingFields: ['name'] }]);
    await d.knex(table).where({ id: p.id }).del();
    await rejection(stale.delete(), RecordDeletedError);
    expect(deletions).to.deep.equal([{ model: 'Product', pk: p.id, operation: 'delete', expectedVersion: stale.version }]);
    expect(conflicts).to.have.length(1);
  });

  it('retryOnConflict reports each retry, with the attempt and the conflicting row', async () => {
    const retries: RetryEvent[] = [];
    listen('retry', (e) => retries.push(e));
    const p = await Product.create({ name: 'counter', stock: 0 });
    let runs = 0;
    await retryOnConflict(
      async () => {
        const c = await Product.get(p.id);
        runs++;
        // Someone else writes between our read and our write, twice.
        if (runs <= 2) await d.knex(table).where({ id: p.id }).increment('version', 1);
        c.stock += 1;
        await c.save();
      },
      { delayMs: () => 0 },
    );
    expect(runs).to.equal(3);
    expect(retries.map((r) => ({ model: r.model, pk: r.pk, attempt: r.attempt, delayMs: r.delayMs, error: r.error.constructor.name }))).to.deep.equal([
      { model: 'Product', pk: p.id, attempt: 1, delayMs: 0, error: 'RecordModifiedError' },
      { model: 'Product', pk: p.id, attempt: 2, delayMs: 0, error: 'RecordModifiedError' },
    ]);
    expect(d.db.stats().byModel['Product']).to.deep.include({ retries: 2, conflicts: 2 });
  });

  it('attack: a listener that throws does not change the outcome of the write, and other databases count apart', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      listen('conflict', () => {
        throw new Error('listener bug');
      });
      const seen: ConflictEvent[] = [];
      listen('conflict', (e) => seen.push(e));
      const p = await Product.create({ name: 'a' });
      const stale = await Product.get(p.id);
      p.name = 'b';
      await p.save();
      stale.name = 'c';
      await rejection(stale.save(), RecordModifiedError);
      expect(seen).to.have.length(1);
      await new Promise((r) => setImmediate(r));
      expect(warnings.some((w) => /listener threw: listener bug/.test(w))).to.equal(true);
    } finally {
      process.off('warning', onWarning);
    }
    const other = d.connectAgain();
    const OtherProduct = productModel(other, table, kind);
    await OtherProduct.create({ name: 'elsewhere' });
    expect(other.stats().saves).to.equal(1);
    expect(d.db.stats().saves).to.equal(2);
    expect(() => d.db.on('nope' as 'conflict', () => undefined)).to.throw(TypeError, /unknown event "nope"/);
  });

  describe('a transaction the database aborted', () => {
    const session = useSessions(d, 'observed_aborts', kind);

    /**
     * As in lock-waits.spec: W's transaction reads the row, H changes it on
     * W's first run only, then `write` writes it on W. The first run is
     * aborted (SQLite busy, PostgreSQL serialization failure, MariaDB
     * snapshot isolation) and retryOnConflict() runs it again.
     */
    async function abortedOnce(write: (W: Session, trx: Knex.Transaction, w: InstanceType<Session['Product']>) => Promise<void>) {
      const H = session();
      const W = session({ userKnex: true, snapshotIsolation: true });
      const isolation = d.pick<'repeatable read' | undefined>({ sqlite: undefined, postgres: 'repeatable read', mysql: 'repeatable read' });
      const retries: RetryEvent[] = [];
      W.db.on('retry', (e) => retries.push(e));
      const p = await H.Product.create({ name: 'x', stock: 0 });
      let runs = 0;
      await retryOnConflict(
        () =>
          W.db.transaction(
            async (trx) => {
              runs++;
              const w = await W.Product.get(p.id);
              if (runs === 1) {
                const h = await H.Product.get(p.id);
                h.stock += 10;
                await h.save();
              }
              await write(W, trx, w);
            },
            isolation ? { isolationLevel: isolation } : undefined,
          ),
        { delayMs: () => 0 },
      );
      return { H, W, runs, retries };
    }

    it("its retry is reported on the database whose statement failed, under '(transaction)'", async () => {
      const { H, W, runs, retries } = await abortedOnce(async (_W, _trx, w) => {
        w.stock += 1;
        await w.save();
      });
      expect(runs).to.equal(2);
      expect(retries).to.have.length(1);
      // A MariaDB without innodb_snapshot_isolation re-reads the latest row: the compare-and-swap reports the conflict instead.
      if (retries[0]!.error instanceof RecordModifiedError) {
        expect(d.name).to.equal('mysql');
        expect(W.db.stats().byModel['Product']).to.deep.include({ retries: 1 });
      } else {
        expect(retries[0]!.error).to.be.instanceOf(RetryableError);
        expect(retries[0]).to.include({ model: undefined, attempt: 1 });
        expect(W.db.stats().byModel['(transaction)']).to.deep.include({ retries: 1 });
      }
      expect(H.db.stats().retries).to.equal(0);
    });

    it('a retry caused by your own query on trx is reported on that database too', async () => {
      const { H, W, runs, retries } = await abortedOnce(async (W, trx, w) => {
        await trx(W.Product.table).where({ id: w.id }).update({ stock: w.stock + 1 });
      });
      expect(runs).to.equal(2);
      expect(retries).to.have.length(1);
      expect(retries[0]!.error).to.be.instanceOf(RetryableError);
      expect(W.db.stats().byModel['(transaction)']).to.deep.include({ retries: 1 });
      expect(H.db.stats().retries).to.equal(0);
    });
  });
});
