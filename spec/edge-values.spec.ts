import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addVersionColumn, AutoField, AutoIncVersionField, checkFieldColumns, checkSchema, DateTimeField, FloatField, JsonField, Model, ValidationError } from '../lib';
import { runColumnsCommand } from '../lib/cli/columns-command';
import { RUN_DB } from './support/dialects';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { countQueries, recreateTable } from './support/schema';

// Values at the edges: what goes in comes back out, identically, on every
// dialect and every column type a migration can create for it, or is refused
// before any SQL with a ValidationError that says why.

// Strings that are themselves valid JSON were parsed twice where the driver
// already parses json/jsonb (PostgreSQL) or JSON (MariaDB): '42' read back
// as the number 42, 'null' as null.
const JSON_VALUES: readonly unknown[] = [
  '42',
  'true',
  'false',
  'null',
  '{"a":1}',
  '[1,2]',
  '"q"',
  '',
  ' 7 ',
  'plain text',
  '\\"',
  42,
  -0.5,
  true,
  false,
  { a: 1, s: '"x"', n: null, nested: { arr: ['1', 1, '[]'] } },
  [],
  ['42', 42, 'null', null],
  {},
];

forEachDialect('edge values: JSON documents round-trip on json, jsonb and text columns', (d) => {
  const table = 'edge_json';

  class Doc extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      asJson: new JsonField({ column: 'as_json', null: true }),
      asJsonb: new JsonField({ column: 'as_jsonb', null: true }),
      asText: new JsonField({ column: 'as_text', null: true }),
      version: new AutoIncVersionField(),
    };
    declare id: number;
    declare asJson: unknown;
    declare asJsonb: unknown;
    declare asText: unknown;
    declare version: number;
  }

  before(async () => {
    await recreateTable(d.knex, table, (t) => {
      t.increments('id');
      t.json('as_json').nullable();
      t.jsonb('as_jsonb').nullable();
      t.text('as_text').nullable();
      addVersionColumn(t);
    });
    Doc.bind(d.db);
  });

  for (const value of JSON_VALUES) {
    it(`${JSON.stringify(value)} reads back identically through get(), query(), refresh() and after a save`, async () => {
      const doc = await Doc.create({ asJson: value, asJsonb: value, asText: value });
      const loaded = await Doc.get(doc.id);
      const [queried] = await Doc.query().where('id', doc.id);
      for (const [how, got] of [['get()', loaded], ['query()', queried!]] as const) {
        expect(got.asJson, `${how} json`).to.deep.equal(value);
        expect(got.asJsonb, `${how} jsonb`).to.deep.equal(value);
        expect(got.asText, `${how} text`).to.deep.equal(value);
      }
      // Read back unchanged, so nothing is dirty: saving writes nothing.
      const { count } = await countQueries(d.knex, () => loaded.save());
      expect(count, 'a loaded document compares equal to itself').to.equal(0);
      loaded.asJson = { wrapped: value };
      await loaded.save();
      loaded.asJson = value;
      await loaded.save();
      await doc.refresh();
      expect([doc.asJson, doc.asJsonb, doc.asText]).to.deep.equal([value, value, value]);
    });
  }

  it('a JSON null is SQL NULL, and the string "null" stays a string even on a non-null field', async () => {
    class Strict extends Model {
      static table = table;
      static fields = {
        id: new AutoField(),
        asJson: new JsonField({ column: 'as_json' }),
        asJsonb: new JsonField({ column: 'as_jsonb' }),
        asText: new JsonField({ column: 'as_text' }),
        version: new AutoIncVersionField(),
      };
      declare id: number;
      declare asJson: unknown;
      declare asJsonb: unknown;
      declare asText: unknown;
    }
    Strict.bind(d.db);
    const s = await Strict.create({ asJson: 'null', asJsonb: 'null', asText: 'null' });
    const back = await Strict.get(s.id);
    expect([back.asJson, back.asJsonb, back.asText]).to.deep.equal(['null', 'null', 'null']);
    const raw = await d.knex(table).where({ id: s.id }).whereNull('as_json').first();
    expect(raw, 'the string "null" is not stored as SQL NULL').to.equal(undefined);
  });
});

// The dialect's DATETIME range, as its adapter states it; a date outside it
// is refused before any SQL instead of being stored as something else
// (MariaDB: year 10000 became 0000-00-00, 0001 read back as 2001).
const DATES: readonly string[] = [
  '0001-01-01T00:00:00.000Z',
  '0099-06-15T12:00:00.000Z',
  '0999-12-31T23:59:59.999Z',
  '1000-01-01T00:00:00.000Z',
  '1969-12-31T23:59:59.999Z',
  '9999-12-31T23:59:59.999Z',
  '+010000-01-01T00:00:00.000Z',
  '-000001-01-01T00:00:00.000Z',
  '-004712-11-24T00:00:00.000Z',
  '+275760-09-13T00:00:00.000Z',
];

forEachDialect('edge values: dates round-trip or are refused naming the range', (d) => {
  const table = 'edge_dates';
  // What each database stores faithfully: SQLite keeps epoch milliseconds
  // (every JavaScript date); PostgreSQL timestamptz from 4713 BC; MariaDB
  // and MySQL DATETIME from year 1000 to 9999.
  const stored = d.pick<(iso: string) => boolean>({
    sqlite: () => true,
    postgres: (iso) => new Date(iso).getTime() >= Date.UTC(-4712, 10, 24),
    mysql: (iso) => {
      const y = new Date(iso).getUTCFullYear();
      return y >= 1000 && y <= 9999;
    },
  });

  class Event extends Model {
    static table = table;
    static fields = { id: new AutoField(), at: new DateTimeField({ null: true }), version: new AutoIncVersionField() };
    declare id: number;
    declare at: Date | null;
  }

  before(async () => {
    await recreateTable(d.knex, table, (t) => {
      t.increments('id');
      t.datetime('at', { precision: 3 }).nullable();
      addVersionColumn(t);
    });
    Event.bind(d.db);
  });

  for (const iso of DATES) {
    it(`${iso}: ${'round-trips, or is refused before any SQL'}`, async () => {
      const at = new Date(iso);
      if (stored(iso)) {
        const e = await Event.create({ at });
        expect((await Event.get(e.id)).at!.toISOString()).to.equal(at.toISOString());
        expect((await Event.query().where('at', at).first())?.id, 'found by the same date').to.equal(e.id);
        return;
      }
      const { count, result } = await countQueries(d.knex, () => rejection(Event.create({ at }), ValidationError));
      expect(count, 'no SQL ran').to.equal(0);
      expect(result.field).to.equal('at');
      expect(result.message).to.match(/range|between/i);
      expect(result.message).to.contain(d.pick({ sqlite: '', postgres: 'PostgreSQL', mysql: 'MySQL' }));
      // The same on update and in a query.
      const e = await Event.create({ at: null });
      e.at = at;
      const update = await countQueries(d.knex, () => rejection(e.save(), ValidationError));
      expect(update.count).to.equal(0);
      await rejection(() => Event.query().where('at', '<', at), ValidationError);
      await rejection(() => Event.query().update({ at }), ValidationError);
    });
  }
});

// FloatField needs a double column: Knex's t.float() is a 4-byte real on
// PostgreSQL and float(8,2) on MySQL, which round JavaScript numbers.
const FLOAT_DIR = path.join(path.resolve(__dirname, '..', '..'), '.kc-tmp', RUN_DB);
const FLOAT_MODELS = path.join(FLOAT_DIR, 'float-models.ts');

forEachDialect('edge values: FloatField on a lossy column is reported', (d) => {
  const table = 'edge_floats';
  // What each database does to 1234567.891 and 0.125 in a t.float() column.
  const lossy = d.pick({ sqlite: false, postgres: true, mysql: true });

  class Measure extends Model {
    static table = table;
    static fields = {
      id: new AutoField(),
      rough: new FloatField({ null: true }),
      exact: new FloatField({ null: true }),
      version: new AutoIncVersionField(),
    };
    declare id: number;
    declare rough: number | null;
    declare exact: number | null;
  }

  before(async () => {
    await recreateTable(d.knex, table, (t) => {
      t.increments('id');
      t.float('rough').nullable();
      t.double('exact').nullable();
      addVersionColumn(t);
    });
    Measure.bind(d.db);
    fs.mkdirSync(FLOAT_DIR, { recursive: true });
    fs.writeFileSync(
      FLOAT_MODELS,
      `import { AutoField, AutoIncVersionField, FloatField, Model } from 'knex-concurrency';
export class Measure extends Model {
  static table = '${table}';
  static fields = { id: new AutoField(), rough: new FloatField({ null: true }), exact: new FloatField({ null: true }), version: new AutoIncVersionField() };
}
`,
    );
  });

  it('a double column keeps every value; the t.float() column is what rounds them', async () => {
    // A value each lossy column changes: a 4-byte real keeps 6 digits, float(8,2) two decimals.
    const probe = d.pick({ sqlite: 1234567.891, postgres: 1234567.891, mysql: 0.125 });
    const m = await Measure.create({ rough: probe, exact: probe });
    const back = await Measure.get(m.id);
    expect(back.exact).to.equal(probe);
    expect(back.rough === probe, `t.float() read back ${back.rough}`).to.equal(!lossy);
  });

  it('checkFieldColumns() names the FloatField on the lossy column and says to use t.double()', async () => {
    const problems = await checkFieldColumns(d.db, [Measure]);
    if (!lossy) {
      expect(problems).to.deep.equal([]);
      return;
    }
    expect(problems.map((p) => p.field)).to.deep.equal(['rough']);
    expect(problems[0]!.message).to.match(/t\.double\(\)/);
  });

  it('bin/migrate columns check exits 1 naming it (0 where the column is faithful)', async () => {
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: {}, cwd: path.resolve(__dirname, '..', '..') };
    const code = await runColumnsCommand(['check', '--models', path.relative(io.cwd, FLOAT_MODELS), '--url', d.url], io);
    expect(code, stderr).to.equal(lossy ? 1 : 0);
    if (lossy) expect(stderr).to.match(/Measure\.rough/).and.to.match(/t\.double\(\)/);
    else expect(stdout).to.match(/faithfully/);
    expect(await runColumnsCommand(['check'], io)).to.equal(2);
  });
});

// A TIMESTAMP column on MySQL/MariaDB holds 1970 to 2038 only (and converts
// through the session time zone): the checks a deployment runs name it, with
// the column to use instead. Elsewhere `t.timestamp()` holds every date the
// field accepts.
forEachDialect('edge values: a DateTimeField on a narrow TIMESTAMP column is reported', (d) => {
  const table = 'edge_timestamp';
  const narrow = d.pick({ sqlite: false, postgres: false, mysql: true });

  class Event extends Model {
    static table = table;
    static fields = { id: new AutoField(), at: new DateTimeField({ null: true }), wide: new DateTimeField({ null: true }), version: new AutoIncVersionField() };
    declare id: number;
    declare at: Date | null;
    declare wide: Date | null;
  }

  beforeEach(async () => {
    await recreateTable(d.knex, table, (t) => {
      t.increments('id');
      t.timestamp('at', { precision: 3 }).nullable();
      t.datetime('wide', { precision: 3 }).nullable();
      addVersionColumn(t);
    });
    Event.bind(d.db);
  });

  it('checkFieldColumns() and checkSchema() name the field on TIMESTAMP, with its range and t.datetime()', async () => {
    const problems = await checkFieldColumns(d.db, [Event]);
    const schema = (await checkSchema(d.db, [Event])).filter((p) => p.kind === 'lossy-column');
    if (!narrow) {
      expect(problems).to.deep.equal([]);
      expect(schema).to.deep.equal([]);
      return;
    }
    expect(problems.map((p) => p.field)).to.deep.equal(['at']);
    expect(problems[0]!.message).to.include('1970-01-01T00:00:01.000Z').and.to.include('2038-01-19T03:14:07.999Z').and.to.match(/t\.datetime\(/);
    expect(schema.map((p) => p.column)).to.deep.equal(['at']);
    expect(schema[0]!.message).to.include('2038-01-19T03:14:07.999Z').and.to.include("t.datetime('at', { precision: 3 })");
  });

  it('inside the range a date round-trips on it', async () => {
    const at = new Date('2030-06-15T12:34:56.789Z');
    const e = await Event.create({ at, wide: new Date('2100-01-01T00:00:00.000Z') });
    expect((await Event.get(e.id)).at?.toISOString()).to.equal(at.toISOString());
  });
});
