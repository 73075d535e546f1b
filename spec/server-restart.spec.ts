import { expect } from 'chai';
import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect, ConnectionLostError, Database, DatabaseUnavailableError } from '../lib';
import { PrivateServer, privateServerUnavailable, ServerDialect, StopMode } from '../stress/private-server';
import { captureOutput } from './support/capture-output';
import { REQUIRE_ALL, sqliteDirectory } from './support/dialects';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, ProductClass, VERSION_KINDS } from './support/models';
import { gate, settle } from './support/session';

const kind = VERSION_KINDS[1]!;
const table = 'restart_products';
const WRITER = path.join(__dirname, 'support', 'killable-writer.js');

/**
 * A server that goes away and comes back, on a private PostgreSQL or
 * MariaDB instance of the spec's own (its own port and data directory: the
 * shared servers are never touched); on SQLite, whose "server" is the
 * writer process itself, writers killed with SIGKILL.
 */
forEachDialect('a database server that restarts or crashes', (d) => {
  const dialect = d.pick<ServerDialect | null>({ sqlite: null, postgres: 'postgres', mysql: 'mysql' });

  if (dialect !== null) {
    let server: PrivateServer;
    let db: Database;
    let other: Database;
    let Product: ProductClass;

    before(async function () {
      const why = privateServerUnavailable(dialect);
      if (why !== undefined) {
        if (REQUIRE_ALL) throw new Error(`${why} (REQUIRE_ALL_DIALECTS=1 makes it a failure)`);
        console.warn(`\n  !!! SKIPPING private-server specs: ${why}\n`);
        this.skip();
      }
      this.timeout(120_000);
      server = await PrivateServer.create(dialect);
      await server.start();
      db = connect(server.url);
      other = connect(server.url);
      Product = productModel(db, table, kind);
    });

    after(async function () {
      this.timeout(60_000);
      await db?.close();
      await other?.close();
      await server?.destroy();
    });

    beforeEach(async function () {
      this.timeout(60_000);
      if (!server.running) await server.start();
      await createProductTable(db.knex, table);
    });

    /** Saves on several connections at once, so the pool holds several, each with the library's statements prepared. */
    async function warmPool(n: number): Promise<InstanceType<ProductClass>[]> {
      const products = await Promise.all(Array.from({ length: n }, (_, i) => Product.create({ name: `p${i}` })));
      await Promise.all(
        products.map(async (p) => {
          p.stock = 1;
          await p.save();
        }),
      );
      return products;
    }

    async function committed(id: number): Promise<{ stock: number; version: number }> {
      const r = await other.knex(table).where({ id }).first();
      return { stock: Number(r.stock), version: Number(r.version) };
    }

    for (const mode of ['clean', 'immediate', 'kill'] as const) {
      const how = mode === 'kill' ? 'killed with SIGKILL' : `stopped (${mode} shutdown)`;
      it(`server ${how}: saves while it is down are DatabaseUnavailableError and write nothing; after the start, the first saves succeed at once on new connections, statements prepared again`, async function () {
        this.timeout(60_000);
        const products = await warmPool(4);
        const before = await Promise.all(products.map((p) => committed(p.id)));
        await (mode === 'kill' ? server.kill() : server.stop(mode as StopMode));
        // The client learns of the death from its sockets' close events; a
        // save sent before they arrive meets ConnectionLostError instead (of
        // unknown outcome, rightly: the client cannot tell). Let them arrive.
        await new Promise((resolve) => setTimeout(resolve, 200));

        const p = products[0]!;
        p.stock = 2;
        let down!: DatabaseUnavailableError;
        const printed = await captureOutput(async () => {
          down = await rejection(p.save(), DatabaseUnavailableError);
        });
        expect(printed, 'nothing printed on its own').to.equal('');
        expect([down.reason, down.outcomeUnknown, down.safeToRetry, down.transient]).to.deep.equal(['refused', false, true, true]);
        expect(p.version, 'the instance is left as it was').to.equal(before[0]!.version);

        await server.start();
        const t0 = Date.now();
        // Every connection the pool held died with the server: none of them may be lent again.
        const outcomes = await Promise.all(
          products.map((q, i) =>
            settle(
              (async () => {
                q.stock = 10 + i;
                await q.save();
              })(),
            ),
          ),
        );
        const firstSavesMs = Date.now() - t0;
        expect(outcomes.map((o) => (o.ok ? 'ok' : String((o as { error: unknown }).error)))).to.deep.equal(['ok', 'ok', 'ok', 'ok']);
        expect(firstSavesMs, 'the first saves after the start take one connect, not a timeout').to.be.below(5000);
        for (const [i, q] of products.entries()) expect(await committed(q.id)).to.deep.equal({ stock: 10 + i, version: before[i]!.version + 1 });
      });
    }

    for (const mode of ['immediate', 'kill'] as const) {
      it(`server ${mode === 'kill' ? 'killed with SIGKILL' : 'stopped immediately'} inside a transaction: ConnectionLostError, nothing written, instances restored; after the start they save`, async function () {
        this.timeout(60_000);
        const [a, b] = await warmPool(2);
        const before = await committed(a!.id);
        const outcome = await settle(
          db.transaction(async () => {
            a!.stock = 5;
            await a!.save();
            await (mode === 'kill' ? server.kill() : server.stop('immediate'));
            b!.stock = 5;
            await b!.save();
          }),
        );
        expect(outcome.ok).to.equal(false);
        const err = (outcome as { error: ConnectionLostError }).error;
        expect(err, String(err)).to.be.instanceOf(ConnectionLostError);
        expect([err.outcomeUnknown, err.safeToRetry]).to.deep.equal([false, true]);
        expect(err.message).to.match(/nothing was written/);
        expect(a!.version, 'restored to the version it had before the transaction').to.equal(before.version);
        await server.start();
        expect(await committed(a!.id), 'the transaction left nothing').to.deep.equal(before);
        await db.transaction(async () => {
          await a!.save();
          await b!.save();
        });
        expect((await committed(a!.id)).stock).to.equal(5);
      });
    }

    it('a save waiting on a lock when the server is killed: ConnectionLostError of unknown outcome, never retried; the instance keeps its version and, refreshed, saves', async function () {
      this.timeout(60_000);
      const [p] = await warmPool(1);
      const [locked, release] = [gate(), gate()];
      const holder = settle(
        other.transaction(async (trx) => {
          await trx(table).where({ id: p!.id }).forUpdate().select('id');
          locked.open();
          await release.opened;
        }),
      );
      await locked.opened;
      p!.stock = 7;
      const saving = settle(p!.save());
      // The UPDATE reaches the server and waits for the row lock.
      await new Promise((resolve) => setTimeout(resolve, 300));
      await server.kill();
      release.open();
      await holder;
      const outcome = await saving;
      const err = (outcome as { error: ConnectionLostError }).error;
      expect(err, String(err)).to.be.instanceOf(ConnectionLostError);
      expect([err.phase, err.outcomeUnknown, err.safeToRetry]).to.deep.equal(['statement', true, false]);
      await server.start();
      await p!.refresh();
      p!.stock = 8;
      await p!.save();
      expect((await committed(p!.id)).stock).to.equal(8);
    });

    if (dialect === 'postgres') {
      it('a server shutting down refuses new connections with DatabaseUnavailableError (shutting-down, PostgreSQL 57P03) while open sessions finish', async function () {
        this.timeout(60_000);
        const [p] = await warmPool(1);
        const [holding, release] = [gate(), gate()];
        // A smart shutdown waits for open sessions: this transaction keeps one open.
        const holder = other.transaction(async () => {
          holding.open();
          await release.opened;
        });
        await holding.opened;
        const { exited } = server.signal('SIGTERM');
        await new Promise((resolve) => setTimeout(resolve, 200));
        const fresh = connect(server.url);
        const err = await rejection(productModel(fresh, table, kind).get(p!.id), DatabaseUnavailableError).finally(() => fresh.close());
        expect([err.reason, err.code, err.transient, err.outcomeUnknown]).to.deep.equal(['shutting-down', '57P03', true, false]);
        release.open();
        await holder;
        // Idle pooled sessions hold the smart shutdown too.
        await Promise.all([db.close(), other.close()]);
        await exited;
        await server.start();
        db = connect(server.url);
        other = connect(server.url);
        Product = productModel(db, table, kind);
        expect((await Product.get(p!.id)).name).to.equal('p0');
      });
    }
  }

  if (dialect === null) {
    // SQLite: the database is a file, and the writer is the process. Killing
    // it leaves a WAL with commits not yet copied into the database file,
    // and maybe a transaction half written; the next process to open the
    // file must recover exactly the committed ones.
    function writer(url: string, id: number, mode: 'hold' | 'loop') {
      return fork(WRITER, [url, table, String(id), mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    }

    function closed(child: ReturnType<typeof fork>): Promise<NodeJS.Signals | null> {
      return new Promise((resolve) => child.once('close', (_code, signal) => resolve(signal)));
    }

    async function freshFile(name: string): Promise<{ url: string; file: string; id: number; version: number }> {
      const file = path.join(sqliteDirectory(), `${name}-${process.pid}-${Date.now()}.db`);
      const url = `sqlite:${file}`;
      const setup = connect(url);
      try {
        await createProductTable(setup.knex, table);
        const p = await productModel(setup, table, kind).create({ name: 'n0' });
        return { url, file, id: p.id, version: p.version };
      } finally {
        // No connection of ours stays open: the killed writer is the file's only user.
        await setup.close();
      }
    }

    it('a writer killed with SIGKILL amid a stream of commits, with nobody else on the file: the next opener recovers every acknowledged commit from the WAL, and no half transaction', async function () {
      this.timeout(60_000);
      const { url, file, id, version } = await freshFile('wal-recovery');
      const child = writer(url, id, 'loop');
      const gone = closed(child);
      let acknowledged = 0;
      await new Promise<void>((resolve, reject) => {
        child.on('message', (m: { committed: number }) => {
          acknowledged = m.committed;
          if (acknowledged === 20) resolve();
        });
        child.once('exit', (code) => reject(new Error(`writer exited with ${code}`)));
      });
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 30));
      child.kill('SIGKILL');
      expect(await gone).to.equal('SIGKILL');
      expect(fs.statSync(`${file}-wal`).size, 'the commits are in the WAL, not yet in the database file').to.be.greaterThan(0);
      const after = connect(url);
      try {
        const r = await after.knex(table).where({ id }).first();
        expect(Number(r.stock), 'no acknowledged commit is lost').to.be.at.least(acknowledged);
        expect(Number(r.stock), 'at most the one in flight besides').to.be.at.most(acknowledged + 1);
        expect(r.name, 'never half a transaction').to.equal(`n${r.stock}`);
        expect(Number(r.version)).to.equal(version + Number(r.stock));
        const p = await productModel(after, table, kind).get(id);
        p.name = 'after';
        await p.save();
      } finally {
        await after.close();
      }
    });

    it('a writer killed with SIGKILL inside its transaction, with nobody else on the file: its write is gone, the file opens and takes the next save', async function () {
      this.timeout(60_000);
      const { url, id, version } = await freshFile('killed-in-transaction');
      const child = writer(url, id, 'hold');
      const gone = closed(child);
      await new Promise<void>((resolve, reject) => {
        child.once('message', () => resolve());
        child.once('exit', (code) => reject(new Error(`writer exited with ${code} before holding its transaction`)));
      });
      child.kill('SIGKILL');
      expect(await gone).to.equal('SIGKILL');
      const after = connect(url);
      try {
        const Product = productModel(after, table, kind);
        const p = await Product.get(id);
        expect([p.name, p.stock, p.version]).to.deep.equal(['n0', 0, version]);
        p.stock = 1;
        await p.save();
        expect((await Product.get(id)).stock).to.equal(1);
      } finally {
        await after.close();
      }
    });
  }
});
