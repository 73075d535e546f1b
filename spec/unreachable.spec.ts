import { expect } from 'chai';
import knexFactory, { Knex } from 'knex';
import * as path from 'node:path';
import { connect, ConnectionLostError, Database, DatabaseClosedError, DatabaseUnavailableError, retryOnConflict, UnavailableReason, UsageError } from '../lib';
import { adapterForConfig, configForUrl } from '../lib/dialects/adapter-for';
import { translateError } from '../lib/translate-error';
import { freePort } from '../stress/private-server';
import { captureOutput } from './support/capture-output';
import { sqliteDirectory } from './support/dialects';
import { rejection } from './support/expect-error';
import type { DialectContext } from './support/for-each-dialect';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { gate } from './support/session';

const kind = VERSION_KINDS[1]!;

/** `d`'s test URL with another user, password, host, port or query. */
function variant(d: DialectContext, change: { user?: string; password?: string; host?: string; port?: number; search?: string }): string {
  const u = new URL(d.url);
  if (change.user !== undefined) u.username = change.user;
  if (change.password !== undefined) u.password = change.password;
  if (change.host !== undefined) u.hostname = change.host;
  if (change.port !== undefined) u.port = String(change.port);
  if (change.search !== undefined) u.search = change.search;
  return u.toString();
}

/** Each way of being unreachable that this dialect can meet against a real server or file, as a target to connect to. */
interface Case {
  readonly title: string;
  readonly target: () => Promise<string | Knex.Config>;
  readonly reason: UnavailableReason;
  readonly transient: boolean;
  /** The driver's code the error carries. */
  readonly code: string | number | undefined;
}

function cases(d: DialectContext): Case[] {
  const network = (name: 'postgres' | 'mysql'): Case[] => [
    { title: 'connection refused (nothing listens)', target: async () => variant(d, { port: await freePort() }), reason: 'refused', transient: true, code: 'ECONNREFUSED' },
    { title: 'DNS failure', target: async () => variant(d, { host: 'no-such-host.invalid' }), reason: 'dns', transient: true, code: 'ENOTFOUND' },
    name === 'postgres'
      ? { title: 'credentials refused (no such role)', target: async () => variant(d, { user: 'kc_no_such_role' }), reason: 'auth', transient: false, code: '28000' }
      : { title: 'credentials refused (wrong password)', target: async () => variant(d, { password: 'wrong-password' }), reason: 'auth', transient: false, code: 1045 },
    name === 'postgres'
      ? // The test server has no TLS; with TLS, an unverifiable certificate fails the same way.
        { title: 'TLS required but refused', target: async () => variant(d, { search: '?sslmode=verify-full' }), reason: 'tls', transient: false, code: undefined }
      : {
          title: 'TLS required but refused',
          target: async () => {
            const u = new URL(d.url);
            return { client: 'mysql2', connection: { host: u.hostname, port: Number(u.port), user: u.username, database: u.pathname.slice(1), ssl: { rejectUnauthorized: true } } };
          },
          reason: 'tls',
          transient: false,
          code: 'HANDSHAKE_NO_SSL_SUPPORT',
        },
  ];
  return d.pick<Case[]>({
    sqlite: [
      {
        title: 'a database file that cannot be opened (missing directory)',
        target: async () => `sqlite:${path.join(sqliteDirectory(), 'no-such-directory', 'app.db')}`,
        reason: 'cannot-open',
        transient: false,
        code: 'SQLITE_CANTOPEN',
      },
    ],
    postgres: network('postgres'),
    mysql: network('mysql'),
  });
}

forEachDialect('a database that cannot be reached', (d) => {
  const table = 'unreachable_products';
  const opened: Database[] = [];
  const open = (target: string | Knex.Config, options?: Parameters<typeof connect>[1]): Database => {
    const db = connect(target, options);
    opened.push(db);
    return db;
  };

  before(async () => {
    await createProductTable(d.knex, table);
  });

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((db) => db.close()));
  });

  for (const c of cases(d)) {
    it(`${c.title}: every call is a DatabaseUnavailableError (${c.reason}) that wrote nothing, is safe to run again, and nothing is printed`, async () => {
      const db = open(await c.target());
      const Product = productModel(db, table, kind);
      const calls: [string, () => Promise<unknown>][] = [
        ['get()', () => Product.get(1)],
        ['create()', () => Product.create({ name: 'x' })],
        ['query()', () => Product.query().where('name', 'x').then((rows) => rows)],
        ['query().update()', () => Product.query().where('name', 'x').update({ name: 'y' })],
        ['transaction()', () => db.transaction(async () => Product.get(1))],
        ['retryOnConflict()', () => retryOnConflict(() => Product.get(1))],
        ['db.knex', () => db.knex(table).select('id').then((rows) => rows)],
      ];
      const errors: [string, DatabaseUnavailableError][] = [];
      const printed = await captureOutput(async () => {
        for (const [name, call] of calls) errors.push([name, await rejection(call, DatabaseUnavailableError)]);
      });
      expect(printed, 'nothing printed on its own').to.equal('');
      for (const [name, err] of errors) {
        expect({ name, reason: err.reason, transient: err.transient }).to.deep.equal({ name, reason: c.reason, transient: c.transient });
        expect(err.outcomeUnknown, name).to.equal(false);
        expect(err.safeToRetry, name).to.equal(true);
        expect(err.phase, name).to.equal('connect');
        expect(err.dialect, name).to.equal(d.name);
        expect(err.code, name).to.equal(c.code);
        expect(err.cause, name).to.be.an('error');
        expect(err.message, name).to.match(/Nothing was written/);
      }
    });
  }

  it('a pool whose connections all stay busy past the acquire timeout is a DatabaseUnavailableError (pool-timeout), and the work goes through once one is free', async () => {
    const config: Knex.Config = { ...configForUrl(d.url), pool: { min: 0, max: 1 }, acquireConnectionTimeout: 300 };
    const db = open(config);
    const Product = productModel(db, table, kind);
    const p = await Product.create({ name: 'pooled' });
    const [holding, release] = [gate(), gate()];
    const holder = db.transaction(async () => {
      holding.open();
      await release.opened;
    });
    await holding.opened;
    let err!: DatabaseUnavailableError;
    const printed = await captureOutput(async () => {
      err = await rejection(Product.get(p.id), DatabaseUnavailableError);
    });
    release.open();
    await holder;
    expect(printed).to.equal('');
    expect([err.reason, err.transient, err.safeToRetry, err.outcomeUnknown]).to.deep.equal(['pool-timeout', true, true, false]);
    expect(err.message).to.match(/pool/);
    expect((await Product.get(p.id)).name).to.equal('pooled');
  });

  it('a query of your own on db.knex after db.close() is a DatabaseClosedError, like the model calls', async () => {
    const db = open(d.url);
    await db.close();
    const err = await rejection(db.knex.raw('SELECT 1'), DatabaseClosedError);
    expect(err.message).to.match(/closed.*Nothing was written/);
    await rejection(productModel(db, table, kind).get(1), DatabaseClosedError);
  });

  it('connect(target, { log }) receives what Knex would print, one line per message, connection failures as debug', async () => {
    const lines: [string, string][] = [];
    const log = { warn: (m: string) => lines.push(['warn', m]), error: (m: string) => lines.push(['error', m]), debug: (m: string) => lines.push(['debug', m]) };
    const target = d.pick({
      sqlite: `sqlite:${path.join(sqliteDirectory(), 'no-such-directory', 'app.db')}`,
      postgres: variant(d, { port: await freePort() }),
      mysql: variant(d, { port: await freePort() }),
    });
    const db = open(target, { log });
    const printed = await captureOutput(async () => {
      await rejection(db.knex.raw('SELECT 1'), DatabaseUnavailableError);
    });
    expect(printed).to.equal('');
    expect(lines.length).to.be.greaterThan(0);
    for (const [level, message] of lines) {
      expect(level, message).to.equal('debug');
      expect(message).to.match(/^Acquire connection error: /);
      expect(message, 'one line, no stack trace').to.not.match(/\n|\bat .*\.js:\d+/);
    }
    // Knex's other messages keep their level, one line each.
    lines.length = 0;
    const logger = (db.knex.client as unknown as { logger: { warn(m: string): void; error(m: string): void; deprecate(a: string, b: string): void } }).logger;
    logger.warn('a warning');
    logger.error('an error\n    at somewhere (file.js:1:2)');
    logger.deprecate('old()', 'new()');
    expect(lines).to.deep.equal([
      ['warn', 'a warning'],
      ['error', 'an error'],
      ['warn', 'old() is deprecated, please use new()'],
    ]);
  });

  it("with a Knex instance of your own, the library's calls are typed too; your own queries on it keep the driver's errors", async () => {
    const target = cases(d)[0]!;
    const quiet = { warn: () => undefined, error: () => undefined, debug: () => undefined };
    const own = knexFactory({ ...configForUrl(String(await target.target())), log: quiet });
    try {
      const db = connect(own);
      const Product = productModel(db, table, kind);
      for (const call of [() => Product.get(1), () => Product.create({ name: 'x' }), () => Product.query().where('name', 'x').then((r) => r), () => db.transaction(async () => undefined)]) {
        const err = await rejection(call, DatabaseUnavailableError);
        expect([err.reason, err.outcomeUnknown]).to.deep.equal([target.reason, false]);
      }
      const raw = await rejection(own.raw('SELECT 1'), Error);
      expect(raw).to.not.be.instanceOf(DatabaseUnavailableError);
      expect((raw as { code?: unknown }).code).to.equal(target.code);
    } finally {
      await own.destroy();
    }
  });

  it('a Knex instance of your own keeps its errors and its logging: connect(knex, { log }) is refused', async () => {
    const own = connect(d.url);
    opened.push(own);
    expect(() => connect(own.knex, { log: {} })).to.throw(UsageError, /own logging/);
  });

  describe('the classification of driver errors (for the codes a spec cannot provoke on demand)', () => {
    const adapter = adapterForConfig(d.pick<Knex.Config>({ sqlite: { client: 'sqlite3' }, postgres: { client: 'pg' }, mysql: { client: 'mysql2' } }));
    type Expect = ['unavailable', UnavailableReason] | ['connection-lost', UnavailableReason | undefined] | [undefined];
    const node = (code: string, message = code): Error => Object.assign(new Error(message), { code });
    const table = d.pick<[string, Error, Expect][]>({
      sqlite: [
        ['SQLITE_CANTOPEN', node('SQLITE_CANTOPEN', 'SQLITE_CANTOPEN: unable to open database file'), ['unavailable', 'cannot-open']],
        ['SQLITE_CONSTRAINT (not about connecting)', node('SQLITE_CONSTRAINT'), [undefined]],
      ],
      postgres: [
        ['57P01 admin_shutdown (fast shutdown)', node('57P01', 'terminating connection due to administrator command'), ['connection-lost', 'shutting-down']],
        ['57P02 crash_shutdown (immediate shutdown)', node('57P02', 'terminating connection because of crash of another server process'), ['connection-lost', 'shutting-down']],
        ['57P03 starting up', node('57P03', 'the database system is starting up'), ['unavailable', 'starting-up']],
        ['57P03 in recovery', node('57P03', 'the database system is not yet accepting connections'), ['unavailable', 'starting-up']],
        ['57P03 shutting down', node('57P03', 'the database system is shutting down'), ['unavailable', 'shutting-down']],
        ['53300 too_many_connections', node('53300', 'sorry, too many clients already'), ['unavailable', 'too-many-connections']],
        ['28P01 invalid_password', node('28P01', 'password authentication failed for user "x"'), ['unavailable', 'auth']],
        ['08006 connection_failure', node('08006'), ['connection-lost', 'dropped']],
        ['ECONNREFUSED', node('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:5432'), ['unavailable', 'refused']],
        ['EAI_AGAIN (DNS server unreachable)', node('EAI_AGAIN', 'getaddrinfo EAI_AGAIN db'), ['unavailable', 'dns']],
        ['EHOSTUNREACH', node('EHOSTUNREACH'), ['unavailable', 'unreachable']],
        ['ECONNRESET', node('ECONNRESET'), ['connection-lost', 'dropped']],
        ['a self-signed certificate', node('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), ['unavailable', 'tls']],
        ['connection timeout', new Error('Connection terminated due to connection timeout'), ['unavailable', 'unreachable']],
        ['23505 unique_violation (not about connecting)', node('23505'), [undefined]],
      ],
      mysql: [
        ['1053 ER_SERVER_SHUTDOWN', Object.assign(node('ER_SERVER_SHUTDOWN', 'Server shutdown in progress'), { errno: 1053 }), ['connection-lost', 'shutting-down']],
        ['2002 CR_CONNECTION_ERROR', Object.assign(new Error("Can't connect to local server"), { errno: 2002 }), ['unavailable', 'refused']],
        ['2003 CR_CONN_HOST_ERROR', Object.assign(new Error("Can't connect to server"), { errno: 2003 }), ['unavailable', 'refused']],
        ['2013 CR_SERVER_LOST', Object.assign(new Error('Lost connection to server during query'), { errno: 2013 }), ['connection-lost', undefined]],
        ['2006 CR_SERVER_GONE_ERROR', Object.assign(new Error('Server has gone away'), { errno: 2006 }), ['connection-lost', undefined]],
        ['1040 ER_CON_COUNT_ERROR', Object.assign(node('ER_CON_COUNT_ERROR', 'Too many connections'), { errno: 1040 }), ['unavailable', 'too-many-connections']],
        ['1045 ER_ACCESS_DENIED_ERROR', Object.assign(node('ER_ACCESS_DENIED_ERROR', 'Access denied'), { errno: 1045, fatal: true }), ['unavailable', 'auth']],
        ['ECONNREFUSED (mysql2 marks it fatal)', Object.assign(node('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3306'), { fatal: true }), ['unavailable', 'refused']],
        ['PROTOCOL_CONNECTION_LOST', Object.assign(node('PROTOCOL_CONNECTION_LOST'), { fatal: true }), ['connection-lost', 'dropped']],
        ['ETIMEDOUT (connect timeout)', Object.assign(node('ETIMEDOUT', 'connect ETIMEDOUT'), { fatal: true }), ['connection-lost', 'unreachable']],
        ['1047 from a Galera node out of sync', Object.assign(node('ER_UNKNOWN_COM_ERROR', 'WSREP has not yet prepared node for application use'), { errno: 1047 }), ['connection-lost', 'not-ready']],
        ['1180 from a Galera node leaving (no primary component)', Object.assign(node('ER_ERROR_DURING_COMMIT', 'Error while appending streaming replication fragment(provider status: Not connected to Primary Component)'), { errno: 1180 }), ['connection-lost', 'not-ready']],
        ['1180 from a storage engine (not Galera)', Object.assign(node('ER_ERROR_DURING_COMMIT', "Got error 28 \"No space left on device\" during COMMIT"), { errno: 1180 }), [undefined]],
        ['1047 Unknown command (a protocol error, not Galera)', Object.assign(node('ER_UNKNOWN_COM_ERROR', 'Unknown command'), { errno: 1047 }), [undefined]],
        ['1062 ER_DUP_ENTRY (not about connecting)', Object.assign(node('ER_DUP_ENTRY'), { errno: 1062 }), [undefined]],
      ],
    });
    for (const [title, err, expected] of table) {
      it(`${title} -> ${expected[0] ?? 'passes through'}${expected[1] ? ` (${expected[1]})` : ''}`, () => {
        const c = adapter.classifyError(err);
        expect([c?.kind, c?.reason]).to.deep.equal([expected[0], expected[1]]);
      });
    }

    const lostError = d.pick<(() => Error) | null>({
      // SQLite's connections do not die under a statement: only its process does.
      sqlite: null,
      postgres: () => node('57P01', 'terminating connection due to administrator command'),
      mysql: () => Object.assign(node('PROTOCOL_CONNECTION_LOST'), { fatal: true }),
    });
    if (lostError !== null) {
      it('a lost connection met while connecting is a DatabaseUnavailableError; under a write, a ConnectionLostError of unknown outcome', () => {
        const atConnect = translateError(adapter, lostError(), { phase: 'connect', inTransaction: false, write: false });
        const underWrite = translateError(adapter, lostError(), { phase: 'statement', inTransaction: false, write: true });
        expect(atConnect).to.be.instanceOf(DatabaseUnavailableError);
        expect((atConnect as DatabaseUnavailableError).reason).to.equal(d.pick({ sqlite: '', postgres: 'shutting-down', mysql: 'dropped' }));
        expect(underWrite).to.be.instanceOf(ConnectionLostError);
        expect((underWrite as ConnectionLostError).outcomeUnknown).to.equal(true);
        expect((underWrite as ConnectionLostError).safeToRetry).to.equal(false);
      });
    }
  });
});
