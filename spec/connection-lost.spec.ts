import { expect } from 'chai';
import { fork } from 'node:child_process';
import * as path from 'node:path';
import { ConnectionLostError, retryOnConflict } from '../lib';
import type { DialectContext } from './support/for-each-dialect';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, VERSION_KINDS } from './support/models';
import { gate, openSession, Session, settle, waitingForLock } from './support/session';

const WRITER = path.join(__dirname, 'support', 'killable-writer.js');

/** Kills the server session `id` from the suite's own connection, as an operator would. SQLite has no server. */
function killer(d: DialectContext): ((id: number) => Promise<void>) | null {
  return d.pick<((id: number) => Promise<void>) | null>({
    // An embedded database has no connection to kill short of its process:
    // that case is the SIGKILL tests below.
    sqlite: null,
    postgres: async (id) => {
      await d.knex.raw('SELECT pg_terminate_backend(?)', [id]);
    },
    mysql: async (id) => {
      await d.knex.raw(`KILL ${Number(id)}`);
    },
  });
}

/**
 * Makes COMMIT itself wait: a deferred constraint trigger that, at commit,
 * needs a row lock the script holds. Only PostgreSQL runs triggers at
 * COMMIT; MariaDB and SQLite have no hook there.
 */
function commitGate(d: DialectContext): ((table: string) => Promise<void>) | null {
  return d.pick<((table: string) => Promise<void>) | null>({
    sqlite: null,
    mysql: null,
    postgres: async (table) => {
      await d.knex.raw('DROP TABLE IF EXISTS lost_commit_gate');
      await d.knex.raw('CREATE TABLE lost_commit_gate (id integer PRIMARY KEY)');
      await d.knex.raw('INSERT INTO lost_commit_gate VALUES (1)');
      await d.knex.raw(`CREATE OR REPLACE FUNCTION lost_commit_gate_wait() RETURNS trigger AS $$
        BEGIN PERFORM 1 FROM lost_commit_gate WHERE id = 1 FOR UPDATE; RETURN NULL; END $$ LANGUAGE plpgsql`);
      await d.knex.raw(`CREATE CONSTRAINT TRIGGER lost_commit_gate_at_commit AFTER UPDATE ON "${table}"
        DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION lost_commit_gate_wait()`);
    },
  });
}

forEachDialect('a connection or process that dies during a save', (d) => {
  const table = 'lost_products';
  const kind = VERSION_KINDS[1]!;
  const sessions: Session[] = [];
  const session = (): Session => {
    const s = openSession(d, table, kind);
    sessions.push(s);
    return s;
  };

  beforeEach(async () => {
    await createProductTable(d.knex, table);
  });

  afterEach(async () => {
    await Promise.all(sessions.splice(0).map((s) => s.close()));
  });

  async function row(id: number): Promise<{ name: string; stock: number; version: number }> {
    const r = await d.knex(table).where({ id }).first();
    return { name: r.name, stock: Number(r.stock), version: Number(r.version) };
  }

  const kill = killer(d);
  if (kill !== null) {
    it('a save whose connection is killed is a ConnectionLostError, not retried, and the pool replaces the connection', async () => {
      const H = session();
      const W = session();
      const p = await H.Product.create({ name: 'x' });
      const w = await W.Product.get(p.id);
      const wid = await W.connectionId();
      w.stock = 2;
      let attempts = 0;
      const [holds, release] = [gate(), gate()];
      const holder = H.db.transaction(async () => {
        const h = await H.Product.get(p.id);
        h.stock = 1;
        await h.save();
        holds.open();
        await release.opened;
      });
      await holds.opened;
      // retryOnConflict() refuses to run inside a transaction, so the waiter starts out here.
      const waiter = settle(
        retryOnConflict(async () => {
          attempts++;
          await w.save();
        }),
      );
      await waitingForLock(d, wid);
      await kill(wid!);
      const outcome = await waiter;
      release.open();
      await holder;
      expect(outcome.ok).to.equal(false);
      const err = (outcome as { error: ConnectionLostError }).error;
      expect(err, String(err)).to.be.instanceOf(ConnectionLostError);
      expect(err.cause).to.be.an('error');
      expect(err.outcomeUnknown, 'a write outside a transaction may have been applied').to.equal(true);
      expect(err.message).to.match(/may or may not/);
      expect(attempts).to.equal(1);
      expect(w.version).to.equal(p.version);
      expect(await row(p.id)).to.deep.include({ name: 'x', stock: 1 });
      const next = await W.connectionId();
      expect(next).to.be.a('number').and.not.equal(wid);
      await w.refresh();
      w.stock = 3;
      await w.save();
      expect((await row(p.id)).stock).to.equal(3);
    });

    it('inside a transaction, a killed connection is a ConnectionLostError whose transaction wrote nothing', async () => {
      const H = session();
      const W = session();
      const a = await H.Product.create({ name: 'a' });
      const b = await H.Product.create({ name: 'b' });
      const wa = await W.Product.get(a.id);
      const wb = await W.Product.get(b.id);
      const wid = await W.connectionId();
      let outcome!: Awaited<ReturnType<typeof settle<void>>>;
      await H.db.transaction(async () => {
        const hb = await H.Product.get(b.id);
        hb.stock = 1;
        await hb.save();
        const waiter = settle(
          W.db.transaction(async () => {
            wa.stock = 5;
            await wa.save();
            wb.stock = 5;
            await wb.save();
          }),
        );
        await waitingForLock(d, wid);
        await kill(wid!);
        outcome = await waiter;
      });
      const err = (outcome as { error: ConnectionLostError }).error;
      expect(err, String(err)).to.be.instanceOf(ConnectionLostError);
      expect(err.outcomeUnknown).to.equal(false);
      expect(err.message).to.match(/nothing was written/);
      expect(wa.version).to.equal(a.version);
      expect(await row(a.id)).to.deep.include({ stock: 0 });
      await wa.save();
      expect((await row(a.id)).stock).to.equal(5);
    });
  }

  const gateCommit = commitGate(d);
  if (kill !== null && gateCommit !== null) {
    it('a connection killed during COMMIT is a ConnectionLostError with outcomeUnknown; the row is the old state or the new, never a mix', async () => {
      await gateCommit(table);
      const H = session();
      const W = session();
      const p = await H.Product.create({ name: 'old' });
      const w = await W.Product.get(p.id);
      const wid = await W.connectionId();
      let outcome!: Awaited<ReturnType<typeof settle<void>>>;
      await H.db.transaction(async (trx) => {
        await trx.raw('SELECT id FROM lost_commit_gate WHERE id = 1 FOR UPDATE');
        const waiter = settle(
          W.db.transaction(async () => {
            w.name = 'new';
            w.stock = 7;
            await w.save();
          }),
        );
        await waitingForLock(d, wid);
        await kill(wid!);
        outcome = await waiter;
      });
      const err = (outcome as { error: ConnectionLostError }).error;
      expect(err, String(err)).to.be.instanceOf(ConnectionLostError);
      expect(err.phase).to.equal('commit');
      expect(err.outcomeUnknown).to.equal(true);
      expect(err.message).to.match(/COMMIT.*may or may not/);
      expect(w.version).to.equal(p.version);
      const r = await row(p.id);
      const old = r.name === 'old' && r.stock === 0 && r.version === p.version;
      const updated = r.name === 'new' && r.stock === 7 && r.version === p.version + 1;
      expect(old || updated, JSON.stringify(r)).to.equal(true);
      await w.refresh();
      expect(w.name).to.equal(r.name);
    });
  }

  function writer(id: number, mode: 'hold' | 'loop') {
    return fork(WRITER, [d.url, table, String(id), mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  }

  function exited(child: ReturnType<typeof fork>): Promise<NodeJS.Signals | null> {
    // 'close' comes after the IPC channel has delivered every message.
    return new Promise((resolve) => child.once('close', (_code, signal) => resolve(signal)));
  }

  it('a process killed with SIGKILL in the middle of a transaction leaves the old row, and the next writer proceeds', async () => {
    const S = session();
    const p = await S.Product.create({ name: 'x' });
    const child = writer(p.id, 'hold');
    const gone = exited(child);
    await new Promise<void>((resolve, reject) => {
      child.once('message', () => resolve());
      child.once('exit', (code) => reject(new Error(`writer exited with ${code} before holding its transaction`)));
    });
    child.kill('SIGKILL');
    expect(await gone).to.equal('SIGKILL');
    expect(await row(p.id)).to.deep.equal({ name: 'x', stock: 0, version: p.version });
    const q = await S.Product.get(p.id);
    q.stock = 1;
    await q.save();
    expect(await row(p.id)).to.deep.equal({ name: 'x', stock: 1, version: p.version + 1 });
  });

  it('a process killed with SIGKILL at an arbitrary moment of a stream of commits: every acknowledged commit is there, the row is never a mix', async () => {
    const S = session();
    const p = await S.Product.create({ name: 'n0' });
    const child = writer(p.id, 'loop');
    const gone = exited(child);
    let acknowledged = 0;
    await new Promise<void>((resolve, reject) => {
      child.on('message', (m: { committed: number }) => {
        acknowledged = m.committed;
        if (acknowledged === 15) resolve();
      });
      child.once('exit', (code) => reject(new Error(`writer exited with ${code}`)));
    });
    // Let it run on a little, so the kill lands wherever the writer happens to be.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 50));
    child.kill('SIGKILL');
    expect(await gone).to.equal('SIGKILL');
    const r = await row(p.id);
    expect(r.stock, 'no acknowledged commit is lost').to.be.at.least(acknowledged);
    expect(r.stock, 'at most the one in flight was applied besides').to.be.at.most(acknowledged + 1);
    expect(r.name).to.equal(`n${r.stock}`);
    expect(r.version).to.equal(p.version + r.stock);
    const q = await S.Product.get(p.id);
    q.name = 'after';
    await q.save();
  });
});
