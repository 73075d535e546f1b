import { expect } from 'chai';
import knexFactory, { type Knex } from 'knex';
import { connect, RecordModifiedError, type Database } from '../lib';
import { MysqlReadProtocol } from '../lib/dialects/mysql/mysql-read-protocol';
import { PrivateServer, privateServerUnavailable } from '../stress/private-server';
import { REQUIRE_ALL, type TestDialectName } from './support/dialects';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createEverythingTable, everythingModel } from './support/models';

// MySQL runs the library's SELECTs prepared, on the binary protocol, except
// texts whose answer has a column type the binary protocol reads otherwise
// than the text protocol (FLOAT...), which are read again as text and stay
// there (MysqlReadProtocol). Whatever protocol a load takes, every run of it
// must read the same values: what was stored.

type Thing = ReturnType<typeof everythingModel>;

/** Loads that run prepared, per load (selects counted from Knex's query events). */
const PREPARED_LOADS: Record<TestDialectName, { first: number; later: number }> = {
  sqlite: { first: 0, later: 0 },
  postgres: { first: 0, later: 0 },
  mysql: { first: 1, later: 1 },
};

/** A column type whose values the protocols read differently on MySQL (4-byte FLOAT). */
const NARROW_FLOAT: Record<TestDialectName, string> = { sqlite: 'real', postgres: 'real', mysql: 'float' };

/** More placeholders than MySQL prepares (65,535), where the database takes that many. */
const MANY_VALUES: Record<TestDialectName, number> = { sqlite: 30_000, postgres: 60_000, mysql: 70_000 };

async function preparedSelects(knex: Knex, fn: () => Promise<unknown>): Promise<{ all: number; prepared: number }> {
  let all = 0;
  let prepared = 0;
  const listener = (q: { sql?: string; prepare?: boolean }) => {
    if (!/^select/i.test(q.sql ?? '')) return;
    all++;
    if (q.prepare === true) prepared++;
  };
  knex.on('query', listener);
  try {
    await fn();
  } finally {
    knex.removeListener('query', listener);
  }
  return { all, prepared };
}

const json = (rows: readonly { toJSON(): unknown }[]) => rows.map((r) => r.toJSON());

forEachDialect('every run of a load reads the same values, whichever protocol it takes', (d) => {
  const table = 'read_protocol';
  let Thing: Thing;

  beforeEach(async () => {
    await createEverythingTable(d.knex, table);
    Thing = everythingModel(d.db, table);
  });

  it('every field type at its edges, on the first run and on later ones (MySQL: prepared)', async () => {
    const created = [
      await Thing.create({
        title: 'é😀"\\\'\n\t%?',
        body: `${'x'.repeat(60_000)}\u2028\u0001\u007fend`,
        count: -2147483648,
        ratio: 0.1 + 0.2,
        active: true,
        at: new Date('1970-01-01T00:00:01.000Z'),
        data: { big: 1.7976931348623157e308, tiny: 5e-324, s: 'ü\n"', list: [null, true, -0.5], nested: { a: {} } },
        order: 2147483647,
        selected: '',
      }),
      await Thing.create({ title: 'max', count: 2147483647, ratio: 1.7976931348623157e308, active: false, at: new Date('2038-01-19T03:14:07.999Z'), data: 'a string', order: -1 }),
      await Thing.create({ title: 'min', ratio: -2.2250738585072014e-308, data: 0 }),
      await Thing.create({ title: 'tiny', ratio: 5e-324, data: [] }),
      await Thing.create({ title: 'digits', ratio: 123456789.12345679, at: new Date('2024-02-29T23:59:59.999Z') }),
      await Thing.create({ title: 'nulls' }),
    ];
    const expected = json(created);
    const first = await preparedSelects(d.knex, async () => expect(json(await Thing.query().orderBy('id'))).to.deep.equal(expected));
    const later = await preparedSelects(d.knex, async () => {
      expect(json(await Thing.query().orderBy('id'))).to.deep.equal(expected);
      expect(json(await Thing.query().orderBy('id'))).to.deep.equal(expected);
    });
    const { first: firstPrepared, later: laterPrepared } = d.pick(PREPARED_LOADS);
    expect(first.prepared).to.equal(firstPrepared);
    expect(later).to.deep.equal({ all: 2, prepared: 2 * laterPrepared });
    for (const c of created) {
      expect((await Thing.get(c.id)).toJSON()).to.deep.equal(c.toJSON());
      expect((await Thing.get(c.id)).toJSON()).to.deep.equal(c.toJSON());
    }
  });

  it('doubles a save() wrote read back exactly, by query() and get(), on every run (MariaDB prints 16 digits as text)', async () => {
    const bits = Buffer.alloc(8);
    const randomBits = () => {
      for (;;) {
        for (let i = 0; i < 8; i++) bits[i] = Math.floor(Math.random() * 256);
        const v = bits.readDoubleLE(0);
        if (Number.isFinite(v)) return v;
      }
    };
    // 906.8960017813603 and 986.6425413642709 read as their neighbours through MariaDB's text protocol.
    const ratios = [906.8960017813603, 986.6425413642709, ...Array.from({ length: 1500 }, (_, i) => (i % 3 === 0 ? randomBits() : Math.random() * 1000))];
    const created = await Thing.createAll(ratios.map((ratio) => ({ title: 'd', ratio })));
    for (let run = 0; run < 2; run++) {
      const loaded = await Thing.query().orderBy('id');
      expect(loaded.map((t) => t.ratio)).to.deep.equal(ratios);
    }
    for (const c of created.slice(0, 20)) expect((await Thing.get(c.id)).ratio).to.equal(c.ratio);
  });

  it('a column altered between runs reads as Knex reads it (MySQL: a FLOAT sends the text back to the text protocol)', async () => {
    const t = await Thing.create({ title: 'narrow', ratio: 1234567.891 });
    await Thing.query().where('id', t.id);
    expect((await Thing.query().where('id', t.id))[0]!.ratio).to.equal(1234567.891);
    await d.knex.schema.alterTable(table, (b) => {
      b.specificType('ratio', d.pick(NARROW_FLOAT)).nullable().alter();
    });
    const [viaKnex] = (await d.knex(table).select('ratio').where('id', t.id)) as { ratio: number }[];
    for (let run = 0; run < 3; run++) {
      const [loaded] = await Thing.query().where('id', t.id);
      expect(loaded!.ratio).to.equal(viaKnex!.ratio);
    }
    const narrowed = await preparedSelects(d.knex, async () => Thing.query().where('id', t.id).all());
    expect(narrowed.prepared).to.equal(0);
  });

  it('more values than a prepared statement takes: every run on the text protocol', async () => {
    const a = await Thing.create({ title: 'a' });
    const b = await Thing.create({ title: 'b' });
    const ids = Array.from({ length: d.pick(MANY_VALUES) }, (_, i) => i + 1);
    for (let run = 0; run < 2; run++) {
      const loaded = await Thing.query().whereIn('id', ids).orderBy('id');
      expect(loaded.map((x) => x.id)).to.deep.equal([a.id, b.id]);
    }
  });

  it('inside a transaction, later runs read its own uncommitted writes; after the rollback they are gone', async () => {
    const t = await Thing.create({ title: 'before', count: 1 });
    const other = d.connectAgain();
    const Other = everythingModel(other, table);
    await d.db
      .transaction(async () => {
        t.count = 2;
        await t.save();
        for (let run = 0; run < 3; run++) expect((await Thing.query().where('id', t.id))[0]!.count).to.equal(2);
        expect((await Other.query().where('id', t.id))[0]!.count).to.equal(1);
        throw new Error('roll back');
      })
      .catch((err: Error) => expect(err.message).to.equal('roll back'));
    for (let run = 0; run < 2; run++) expect((await Thing.query().where('id', t.id))[0]!.count).to.equal(1);
  });

});

// A caller's own driver conversion (mysql2's typeCast) is written for the
// text protocol: with one in the connection options, every load stays there.
const CALLER_CONVERSION: Record<TestDialectName, { readonly extra: Record<string, unknown>; readonly title: string }> = {
  sqlite: { extra: {}, title: 'abc' },
  postgres: { extra: {}, title: 'abc' },
  mysql: {
    extra: {
      timezone: 'Z',
      // This table's strings only: the library's catalog reads must stay as they are.
      typeCast(field: { type: string; table: string; string(): string | null }, next: () => unknown) {
        if (field.type !== 'VAR_STRING' || field.table !== 'read_protocol_caller') return next();
        const s = field.string();
        return s === null ? null : s.toUpperCase();
      },
    },
    title: 'ABC',
  },
};

function callerConfig(name: TestDialectName, url: string, extra: Record<string, unknown>): Knex.Config {
  if (name === 'sqlite') return { client: 'sqlite3', connection: { filename: url.replace(/^sqlite:/, ''), ...extra }, useNullAsDefault: true };
  if (name === 'postgres') return { client: 'pg', connection: { connectionString: url, ...extra } };
  const u = new URL(url);
  return { client: 'mysql2', connection: { host: u.hostname, port: Number(u.port), user: u.username, password: u.password, database: u.pathname.slice(1), ...extra } };
}

forEachDialect('a caller’s driver conversions apply to every run of a load', (d) => {
  const table = 'read_protocol_caller';
  let knex: Knex;
  let db: Database;

  beforeEach(async () => {
    await createEverythingTable(d.knex, table);
    knex = knexFactory({ ...callerConfig(d.name, d.url, d.pick(CALLER_CONVERSION).extra), pool: { min: 1, max: 1 } });
    db = connect(knex);
  });

  afterEach(async () => {
    await db.close();
    await knex.destroy();
  });

  it('a mysql2 typeCast function converts the first run and every later one alike; none runs prepared', async () => {
    const Thing = everythingModel(db, table);
    await Thing.create({ title: 'abc', selected: 'abc' });
    const runs = await preparedSelects(knex, async () => {
      for (let run = 0; run < 3; run++) {
        const [t] = await Thing.query().orderBy('id');
        expect([t!.title, t!.selected]).to.deep.equal([d.pick(CALLER_CONVERSION).title, d.pick(CALLER_CONVERSION).title]);
      }
    });
    expect(runs.prepared).to.equal(0);
  });
});

/**
 * A database whose server prepares no more statements, where it has such a
 * limit: MySQL's `max_prepared_stmt_count` counts every session's, so it is
 * set to 0 on a private server of this spec's own (its own port and data
 * directory: the shared server, and whatever else runs on it, are never
 * touched). Elsewhere the spec's own database, which has no such limit.
 */
const OUT_OF_STATEMENTS: Record<TestDialectName, (() => Promise<{ url: string; destroy(): Promise<void> }>) | undefined> = {
  sqlite: undefined,
  postgres: undefined,
  mysql: async () => {
    const server = await PrivateServer.create('mysql');
    try {
      await server.start();
      const admin = knexFactory({ client: 'mysql2', connection: server.url });
      try {
        await admin.raw('SET GLOBAL max_prepared_stmt_count = 0');
      } finally {
        await admin.destroy();
      }
      return server;
    } catch (err) {
      await server.destroy();
      throw err;
    }
  },
};

forEachDialect('a server that prepares no more statements: every statement still runs, as text, and none reports a query-error', (d) => {
  const table = 'read_protocol_full';
  let server: { url: string; destroy(): Promise<void> } | undefined;
  let db: Database;
  let Thing: Thing;
  const errors: unknown[] = [];
  const onError = (err: unknown) => errors.push(err);

  before(async function () {
    const open = d.pick(OUT_OF_STATEMENTS);
    if (open !== undefined) {
      const why = privateServerUnavailable('mysql');
      if (why !== undefined) {
        if (REQUIRE_ALL) throw new Error(`${why} (REQUIRE_ALL_DIALECTS=1 makes it a failure)`);
        console.warn(`\n  !!! SKIPPING private-server specs: ${why}\n`);
        this.skip();
      }
      this.timeout(120_000);
      server = await open();
    }
    db = server === undefined ? d.db : connect(server.url);
    db.knex.on('query-error', onError);
  });

  after(async function () {
    this.timeout(60_000);
    db?.knex.removeListener('query-error', onError);
    if (server !== undefined) {
      await db?.close();
      await server.destroy();
    }
  });

  beforeEach(async () => {
    await createEverythingTable(db.knex, table);
    Thing = everythingModel(db, table);
    errors.length = 0;
  });

  it('writes: create(), save(), a conflict and transactions (committed and rolled back) do what they do anywhere', async () => {
    const t = await Thing.create({ title: 'w', count: 1, ratio: 0.1 + 0.2 });
    const stale = await Thing.get(t.id);
    t.count = 2;
    await t.save();
    stale.count = 3;
    await rejection(() => stale.save(), RecordModifiedError);
    await db.transaction(async () => {
      const inside = await Thing.create({ title: 'in', count: 5 });
      inside.count = 6;
      await inside.save();
    });
    await db
      .transaction(async () => {
        t.count = 7;
        await t.save();
        throw new Error('roll back');
      })
      .catch((err: Error) => expect(err.message).to.equal('roll back'));
    const rows = (await db.knex(table).select('title', 'count', 'ratio').orderBy('id')) as { title: string; count: number }[];
    expect(rows.map((r) => [r.title, r.count])).to.deep.equal([
      ['w', 2],
      ['in', 6],
    ]);
    // The rolled-back save left the instance holding its change, at the version the row has: it saves.
    await t.save();
    expect((await Thing.get(t.id)).count).to.equal(7);
    expect(errors).to.deep.equal([]);
  });

  it('reads: every run of a load reads what was stored (MySQL: refused and read as text, prepared again every other run)', async () => {
    const t = await Thing.create({ title: 'limit', count: 7, ratio: 0.5 });
    const runs = await preparedSelects(db.knex, async () => {
      for (let run = 0; run < 3; run++) {
        const loaded = await Thing.query().where('title', 'limit').where('count', '>', 6);
        expect(loaded.map((x) => [x.id, x.count, x.ratio])).to.deep.equal([[t.id, 7, 0.5]]);
      }
    });
    expect(runs, 'selects sent, and those sent to be prepared').to.deep.equal(d.pick(REFUSED_RUNS));
    expect(errors).to.deep.equal([]);
  });
});

/**
 * Selects of three runs of a load on a server that prepares nothing (see
 * OUT_OF_STATEMENTS). MySQL: the first run is refused (1461) and read as
 * text, which the second run then is at once; the third tries again.
 */
const REFUSED_RUNS: Record<TestDialectName, { all: number; prepared: number }> = {
  sqlite: { all: 3, prepared: 0 },
  postgres: { all: 3, prepared: 0 },
  mysql: { all: 5, prepared: 2 },
};

// The decision alone (no SQL runs here): a text the server will never prepare
// (1295) stays on the text protocol whatever its answers hold; one refused for
// the server's statement limit (1461) goes back to binary once an answer allows.
describe('MysqlReadProtocol: texts the server refuses to prepare', () => {
  const connection = { config: { typeCast: true } };
  const select = (sql: string) => ({ sql, bindings: [1], method: 'select' as const });
  const alike = [[], [{ columnType: 3 }]];

  for (const [errno, later] of [
    [1295, false],
    [1461, true],
  ] as const) {
    it(`after ${errno}, a text whose answers show only types both protocols read alike ${later ? 'runs prepared again' : 'stays on text'}`, () => {
      const reads = new MysqlReadProtocol();
      const sql = `SELECT a FROM t WHERE id = ? /* ${errno} */`;
      expect(reads.binary(select(sql), connection)).to.equal(true);
      reads.refusedToPrepare(sql, { errno });
      expect(reads.binary(select(sql), connection)).to.equal(false);
      reads.learn(sql, alike);
      expect(reads.binary(select(sql), connection)).to.equal(later);
      expect(reads.binary(select('SELECT b FROM t'), connection), 'other texts').to.equal(true);
    });
  }
});
