import { expect } from 'chai';
import { ConnectionLostError, RecordModifiedError, retryOnConflict, UsageError } from '../lib';
import type { DialectContext } from './support/for-each-dialect';
import { forEachDialect } from './support/for-each-dialect';
import { VERSION_KINDS } from './support/models';
import { committedRow, firstRow, gate, Session, settle, useSessions, waitingForLock } from './support/session';

const kind = VERSION_KINDS[1]!;

/**
 * Cuts a session's connection from the client's side, as a network failure
 * would: the client sees its socket die while the server, which does not
 * look at the socket while a statement waits for a lock, goes on and
 * commits. The one way to get, on demand, a write that was applied but
 * never acknowledged. SQLite has no socket: its unknown outcomes come from a
 * process killed mid-write (spec/connection-lost.spec.ts, npm run stress
 * --faults kill).
 */
function socketCutter(d: DialectContext): ((s: Session) => Promise<() => void>) | null {
  const socketOf = d.pick<((connection: object) => { destroy(): void }) | null>({
    sqlite: null,
    postgres: (c) => (c as { connection: { stream: { destroy(): void } } }).connection.stream,
    mysql: (c) => (c as { stream: { destroy(): void } }).stream,
  });
  if (socketOf === null) return null;
  return async (s) => {
    // The session's pool holds one connection: the one its next statement will use.
    const client = s.db.knex.client as { acquireConnection(): Promise<object>; releaseConnection(c: object): Promise<void> };
    const connection = await client.acquireConnection();
    await client.releaseConnection(connection);
    return () => socketOf(connection).destroy();
  };
}

/** Holds a lock that makes the next write to `table` wait: the row's (for an update) or the table's (for an insert). */
function locker(d: DialectContext, table: string): (s: Session, what: { row: number } | 'table') => Promise<() => Promise<void>> {
  return async (s, what) => {
    const [locked, release] = [gate(), gate()];
    const done = s.db.transaction(async (trx) => {
      if (what === 'table') await trx.raw(d.pick({ sqlite: '', postgres: `LOCK TABLE "${table}" IN EXCLUSIVE MODE`, mysql: `SELECT * FROM \`${table}\` FOR UPDATE` }));
      else await trx(table).where({ id: what.row }).forUpdate().select('id');
      locked.open();
      await release.opened;
    });
    await locked.opened;
    return async () => {
      release.open();
      await done;
    };
  };
}

async function until(check: () => Promise<boolean>, ms = 5000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}

forEachDialect('a write whose outcome is unknown is never applied twice', (d) => {
  const table = 'unknown_products';
  const session = useSessions(d, table, kind);
  const cut = socketCutter(d);
  const lock = locker(d, table);

  async function rows(): Promise<number> {
    return Number(firstRow(d, await d.knex.raw(`SELECT count(*) AS n FROM ${d.pick({ sqlite: table, postgres: `"${table}"`, mysql: `\`${table}\`` })}`)).n);
  }

  if (cut !== null) {
    it('an update applied but never acknowledged: ConnectionLostError of unknown outcome, not retried by retryOnConflict; a blind retry of the same instance conflicts instead of applying twice', async () => {
      const H = session();
      const W = session();
      const p = await H.Product.create({ name: 'x' });
      const w = await W.Product.get(p.id);
      const wid = await W.connectionId();
      const cutW = await cut(W);
      const unlock = await lock(H, { row: p.id });
      let attempts = 0;
      w.stock = 5;
      const saving = settle(
        retryOnConflict(async () => {
          attempts++;
          await w.save();
        }),
      );
      await waitingForLock(d, wid);
      cutW();
      const outcome = await saving;
      await unlock();
      const err = (outcome as { error: ConnectionLostError }).error;
      expect(err, String(err)).to.be.instanceOf(ConnectionLostError);
      expect([err.outcomeUnknown, err.safeToRetry]).to.deep.equal([true, false]);
      expect(attempts, 'retryOnConflict() does not retry an unknown outcome').to.equal(1);
      expect(await until(async () => (await committedRow(d, table, p.id)).stock === 5), 'the server applied the write after all').to.equal(true);
      expect(w.version, 'the instance keeps the version it held').to.equal(p.version);
      // The blind retry: the row moved on (our own write), so the version check refuses it.
      w.stock = 5;
      const conflict = await settle(w.save());
      expect((conflict as { error: unknown }).error).to.be.instanceOf(RecordModifiedError);
      expect(await committedRow(d, table, p.id)).to.deep.equal({ name: 'x', stock: 5, version: p.version + 1 });
      await w.refresh();
      expect(w.stock).to.equal(5);
    });

    it('an insert applied but never acknowledged: the new instance refuses to be saved again (it would insert a second row) until it is found', async () => {
      const H = session();
      const W = session();
      const cutW = await cut(W);
      const unlock = await lock(H, 'table');
      const w = new W.Product();
      w.name = 'once';
      const saving = settle(w.save());
      await new Promise((resolve) => setTimeout(resolve, 300));
      cutW();
      const outcome = await saving;
      await unlock();
      const err = (outcome as { error: ConnectionLostError }).error;
      expect(err, String(err)).to.be.instanceOf(ConnectionLostError);
      expect(err.outcomeUnknown).to.equal(true);
      expect(await until(async () => (await rows()) === 1), 'the server inserted the row after all').to.equal(true);
      const refused = await settle(w.save());
      expect((refused as { error: unknown }).error, 'a blind retry would insert it twice').to.be.instanceOf(UsageError);
      expect(String((refused as { error: Error }).error.message)).to.match(/outcome is unknown.*could insert it twice/);
      const noKey = await settle(w.refresh());
      expect((noKey as { error: unknown }).error, 'there is no key to refresh it by').to.be.instanceOf(UsageError);
      expect(await rows()).to.equal(1);
    });
  }
});
