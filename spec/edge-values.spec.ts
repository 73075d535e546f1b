import { expect } from 'chai';
import { addVersionColumn, AutoField, AutoIncVersionField, DateTimeField, JsonField, Model, ValidationError } from '../lib';
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
