import { expect } from 'chai';
import knexFactory, { Knex } from 'knex';
import { connect, UsageError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { sqliteUrl } from './support/dialects';

/** A Knex config for the same database as `url`, written the way a user would. */
function configFor(name: string, url: string): Knex.Config {
  if (name === 'sqlite') return { client: 'sqlite3', connection: { filename: url.replace(/^sqlite:/, '') }, useNullAsDefault: true };
  if (name === 'postgres') return { client: 'pg', connection: url };
  const u = new URL(url);
  return { client: 'mysql2', connection: { host: u.hostname, port: Number(u.port), user: u.username, password: u.password, database: u.pathname.slice(1) } };
}

forEachDialect('connect()', (d) => {
  it('a URL gives a Database with its dialect and Knex instance', async () => {
    expect(d.db.dialect).to.equal(d.name);
    const rows = await d.db.knex.raw('SELECT 1 AS one');
    expect(rows).to.not.equal(undefined);
  });

  it('a Knex config object works the same', async () => {
    const db = connect(configFor(d.name, d.url));
    try {
      expect(db.dialect).to.equal(d.name);
      await db.knex.raw('SELECT 1');
    } finally {
      await db.close();
    }
  });

  it('a Knex instance works, and close() leaves it open for its owner', async () => {
    const knex = knexFactory(configFor(d.name, d.url));
    const db = connect(knex);
    expect(db.knex).to.equal(knex);
    expect(db.dialect).to.equal(d.name);
    await db.close();
    await knex.raw('SELECT 1');
    await knex.destroy();
  });

  const disablesMatchedRows = d.pick<Knex.Config | null>({
    sqlite: null,
    postgres: null,
    mysql: { client: 'mysql2', connection: { host: '127.0.0.1', flags: '-FOUND_ROWS' } },
  });
  if (disablesMatchedRows !== null) {
    it('refuses a driver config that would count changed rows instead of matched rows', () => {
      expect(() => connect(disablesMatchedRows)).to.throw(UsageError, /FOUND_ROWS/);
      const knex = knexFactory(disablesMatchedRows);
      try {
        expect(() => connect(knex)).to.throw(UsageError, /FOUND_ROWS/);
      } finally {
        void knex.destroy();
      }
    });
  }
});

describe('connect() targets', () => {
  it('sqlite::memory: uses exactly one connection, so the database lives as long as the Database', async () => {
    const db = connect('sqlite::memory:');
    try {
      const pool = (db.knex.client as unknown as { pool: { max: number } }).pool;
      expect(pool.max).to.equal(1);
      await db.knex.schema.createTable('t', (t) => t.integer('x'));
      await Promise.all([db.knex('t').insert({ x: 1 }), db.knex('t').insert({ x: 2 })]);
      expect(await db.knex('t')).to.have.length(2);
    } finally {
      await db.close();
    }
  });

  it('a SQLite file uses WAL, a busy timeout and several connections', async () => {
    const db = connect(sqliteUrl('connect-wal'));
    try {
      const [mode] = await db.knex.raw('PRAGMA journal_mode');
      expect(mode.journal_mode).to.equal('wal');
      const [busy] = await db.knex.raw('PRAGMA busy_timeout');
      expect(Object.values(busy)[0]).to.equal(10000);
      expect((db.knex.client as unknown as { pool: { max: number } }).pool.max).to.be.greaterThan(1);
    } finally {
      await db.close();
    }
  });

  it('refuses unknown URLs and targets, without echoing passwords', async () => {
    expect(() => connect('oracle://scott:tiger@host/db')).to.throw(UsageError).that.satisfies((e: Error) => !e.message.includes('tiger'));
    expect(() => connect(42 as never)).to.throw(UsageError);
    expect(() => connect({ client: 'mssql' } as Knex.Config)).to.throw(UsageError, /unsupported Knex client/);
    expect(() => connect('sqlite:')).to.throw(UsageError);
    await rejection(async () => connect(null as never), UsageError);
  });
});
