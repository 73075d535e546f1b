import { expect } from 'chai';
import knexFactory, { Knex } from 'knex';
import { connect, Database, RecordModifiedError } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { gate, settle } from './support/session';

/* eslint-disable @typescript-eslint/no-require-imports */

/** A Knex config as an application's knexfile holds it, with hooks of its own. */
function callerConfig(name: string, url: string): Knex.Config {
  const hooks = {
    // Upper-case keys on the caller's own query results: the library's statements must not see them.
    postProcessResponse: (result: unknown) =>
      Array.isArray(result) && result.every((r) => r !== null && typeof r === 'object' && !Array.isArray(r))
        ? result.map((r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k.toUpperCase(), v])))
        : result,
  };
  if (name === 'sqlite') return { client: 'sqlite3', connection: { filename: url.replace(/^sqlite:/, '') }, useNullAsDefault: true, ...hooks };
  if (name === 'postgres') return { client: 'pg', connection: url, ...hooks };
  const u = new URL(url);
  return { client: 'mysql2', connection: { host: u.hostname, port: Number(u.port), user: u.username, password: u.password, database: u.pathname.slice(1) }, ...hooks };
}

/** How many statements the driver prepared (SQLite: Database#prepare calls; MySQL: COM_STMT_PREPARE packets) while `fn` ran; `undefined` for PostgreSQL. */
async function preparesDuring(name: string, knex: Knex, fn: () => Promise<void>): Promise<{ prepares: number; plain: number } | undefined> {
  if (name === 'postgres') {
    await fn();
    return undefined;
  }
  let prepares = 0;
  let plain = 0;
  const restore: (() => void)[] = [];
  const wrap = (target: Record<string, (...a: unknown[]) => unknown>, method: string, count: () => void) => {
    const original = target[method]!;
    target[method] = function (this: unknown, ...args: unknown[]) {
      count();
      return original.apply(this, args);
    };
    restore.push(() => (target[method] = original));
  };
  if (name === 'sqlite') {
    const sqlite3 = require('sqlite3') as { Database: { prototype: Record<string, (...a: unknown[]) => unknown> } };
    wrap(sqlite3.Database.prototype, 'prepare', () => prepares++);
    for (const m of ['run', 'all']) wrap(sqlite3.Database.prototype, m, () => plain++);
  } else {
    const conn = (await (knex.client as unknown as { acquireConnection(): Promise<object> }).acquireConnection()) as Record<string, (...a: unknown[]) => unknown>;
    await (knex.client as unknown as { releaseConnection(c: object): Promise<void> }).releaseConnection(conn);
    wrap(conn, 'prepare', () => prepares++);
    wrap(conn, 'query', () => plain++);
  }
  try {
    await fn();
  } finally {
    for (const r of restore) r();
  }
  return { prepares, plain };
}

/**
 * A Knex instance the caller built keeps its client class, hooks and events;
 * the library's statements on it still run prepared, and its pool still
 * closes cleanly.
 */
forEachDialect('a Knex instance the caller built: the fast path, its hooks left alone', (d) => {
  const table = 'caller_knex_products';
  const kind = VERSION_KINDS[1]!;
  let knex: Knex;
  let db: Database;

  beforeEach(async () => {
    await createProductTable(d.knex, table);
    // One connection, so that the spy on it sees every statement.
    knex = knexFactory({ ...callerConfig(d.name, d.url), pool: { min: 1, max: 1 } });
    db = connect(knex);
  });

  afterEach(async () => {
    await db.close();
    await knex.destroy();
  });

  it('saves run on statements prepared once per connection, each with one query event from the caller\'s client', async () => {
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'lamp' });
    p.stock = 1;
    await p.save();
    const events: { sql: string; bindings: unknown; __knexUid?: unknown }[] = [];
    knex.on('query', (q) => events.push(q));
    const counts = await preparesDuring(d.name, knex, async () => {
      for (let i = 2; i <= 6; i++) {
        p.stock = i;
        await p.save();
      }
    });
    expect(events.map((e) => /^update /i.test(e.sql))).to.deep.equal([true, true, true, true, true]);
    expect(events[0]!.__knexUid).to.be.a('string');
    expect(events[4]!.bindings).to.include(6);
    if (counts !== undefined) expect(counts, 'prepared once, before, and never sent as text').to.deep.equal({ prepares: 0, plain: 0 });
    expect((await Product.get(p.id)).stock).to.equal(6);
  });

  it('the caller\'s postProcessResponse shapes its own queries and never the rows of the library\'s statements', async () => {
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'shaped' });
    const [row] = (await knex(table).where({ id: p.id }).select('name')) as Record<string, unknown>[];
    expect(row).to.deep.equal({ NAME: 'shaped' });
    const loaded = await Product.get(p.id);
    expect(loaded.name).to.equal('shaped');
    loaded.name = 'reshaped';
    await loaded.save();
    expect((await Product.get(p.id)).name).to.equal('reshaped');
  });

  it('a failing statement reaches the caller\'s query-error listeners with its SQL, as Knex reports it', async () => {
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'x' });
    p.stock = 1;
    await p.save();
    await d.knex.schema.dropTable(table);
    const seen: { message: string; sql: string }[] = [];
    knex.on('query-error', (err: Error, q: { sql: string }) => seen.push({ message: err.message, sql: q.sql }));
    p.stock = 2;
    const err = await p.save().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err).to.be.instanceOf(Error);
    expect(seen.length).to.be.greaterThan(0);
    expect(seen[0]!.sql).to.match(/^update /i);
    expect(seen[0]!.message).to.match(/^update /i);
  });

  it('its pool closes cleanly with statements kept on its connections', async () => {
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'closing' });
    p.stock = 1;
    await p.save();
    await Product.get(p.id);
    const failures: unknown[] = [];
    (knex.client as unknown as { pool: { on(e: string, fn: (...a: unknown[]) => void): void } }).pool.on('destroyFail', (_id, _res, e) => failures.push(e));
    await db.close();
    await knex.destroy();
    expect(failures).to.deep.equal([]);
    knex = knexFactory(callerConfig(d.name, d.url));
    db = connect(knex);
  });

  // Statements the server keeps for this session (raw results are not row lists: the caller's postProcessResponse leaves them).
  const keptOnServer = d.pick<((k: Knex) => Promise<number>) | undefined>({
    sqlite: undefined, // in-process: SqliteStatementCache bounds it
    postgres: async (k) => Number(((await k.raw('SELECT count(*) AS n FROM pg_prepared_statements')) as { rows: { n: unknown }[] }).rows[0]!.n),
    mysql: async (k) => {
      const [rows] = (await k.raw("SHOW SESSION STATUS WHERE Variable_name IN ('Com_stmt_prepare', 'Com_stmt_close')")) as [{ Variable_name: string; Value: string }[]];
      const value = (name: string) => Number(rows.find((r) => r.Variable_name === name)!.Value);
      return value('Com_stmt_prepare') - value('Com_stmt_close');
    },
  });

  // The fewest statements the session keeps after the loads: MySQL's loads run prepared (the latest texts stay), PostgreSQL's unnamed.
  const fewestKept = d.pick({ sqlite: 0, postgres: 1, mysql: 150 });

  it('its connections keep at most 200 of the library\'s statements, however many texts it runs (mysql2 would keep 16,000)', async function () {
    this.timeout(60_000);
    const Product = productModel(db, table, kind);
    const ids = (await Product.createAll(Array.from({ length: 300 }, (_, i) => ({ name: `p${i}` })))).map((p) => p.id);
    // 300 load texts: an IN list of each length.
    for (let n = 1; n <= 300; n++) expect((await Product.query().whereIn('id', ids.slice(0, n))).length).to.equal(n);
    const kept = keptOnServer === undefined ? undefined : await keptOnServer(knex);
    if (kept !== undefined) {
      expect(kept, 'statements the session keeps').to.be.at.most(200);
      expect(kept, 'the latest texts stay prepared').to.be.at.least(fewestKept);
    }
    // A text closed to make room runs again, and a save still runs prepared.
    expect((await Product.query().whereIn('id', ids.slice(0, 1))).map((p) => p.id)).to.deep.equal([ids[0]]);
    const p = await Product.get(ids[0]!);
    p.stock = 9;
    await p.save();
    expect((await Product.get(ids[0]!)).stock).to.equal(9);
    if (keptOnServer !== undefined) expect(await keptOnServer(knex)).to.be.at.most(200);
  });

  // How db.transaction() begins on the caller's instance: as it does with a
  // URL. SQLite's deferred BEGIN would let a transaction read, then fail at
  // its first write with SQLITE_BUSY at once instead of waiting its turn.
  const begins = d.pick({ sqlite: 'BEGIN IMMEDIATE;', postgres: 'BEGIN;', mysql: 'BEGIN;' });

  it(`db.transaction() begins with ${begins} as it does for a URL, and Knex's own transactions are left as the caller built them`, async () => {
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'begin' });
    const sqls: string[] = [];
    knex.on('query', (q: { sql: string }) => sqls.push(q.sql));
    await db.transaction(async () => {
      p.stock = 2;
      await p.save();
    });
    await knex.transaction(async (trx) => trx(table).where({ id: p.id }).first());
    const starts = sqls.filter((sql) => /^(BEGIN|START)/i.test(sql));
    expect(starts).to.deep.equal([begins, 'BEGIN;']);
  });

  // Two transactions read the same row, then write it. Where the first
  // transaction's write lock is taken at BEGIN (SQLite), the second waits for
  // it to commit, reads its write and commits too; elsewhere both read the
  // old version and the compare-and-swap refuses one.
  const refused = d.pick({ sqlite: 0, postgres: 1, mysql: 1 });

  it(`two read-then-write transactions on the caller's instance: ${refused === 0 ? 'the second waits for the first and both commit' : 'one is refused with RecordModifiedError'}`, async () => {
    await db.close();
    await knex.destroy();
    const afterCreate = (conn: { configure?(o: 'busyTimeout', ms: number): void }, done: (e: Error | null, c: unknown) => void) => {
      conn.configure?.('busyTimeout', 5000);
      done(null, conn);
    };
    knex = knexFactory({ ...callerConfig(d.name, d.url), pool: { min: 0, max: 2, afterCreate } });
    db = connect(knex);
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'contended' });
    const firstRead = gate();
    const first = settle(
      db.transaction(async () => {
        const x = await Product.get(p.id);
        firstRead.open();
        await new Promise((resolve) => setTimeout(resolve, 100));
        x.stock += 1;
        await x.save();
      }),
    );
    await firstRead.opened;
    const second = settle(
      db.transaction(async () => {
        const y = await Product.get(p.id);
        y.stock += 10;
        await y.save();
      }),
    );
    const outcomes = await Promise.all([first, second]);
    const errors = outcomes.filter((o) => !o.ok).map((o) => (o as { error: unknown }).error);
    expect(errors.length, errors.map(String).join('; ')).to.equal(refused);
    for (const e of errors) expect(e).to.be.instanceOf(RecordModifiedError);
    const stock = Number((await d.knex(table).where({ id: p.id }).first()).stock);
    expect(stock).to.equal(refused === 0 ? 11 : outcomes[0]!.ok ? 1 : 10);
  });
});
