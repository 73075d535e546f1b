import { expect } from 'chai';
import { ValidationError } from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createEverythingTable, everythingModel } from './support/models';
import { countQueries } from './support/schema';

/** The four ways a value reaches SQL. */
type Entry = 'create' | 'assign' | 'update' | 'where';
const EVERYWHERE: readonly Entry[] = ['create', 'assign', 'update', 'where'];
const WRITES: readonly Entry[] = ['create', 'assign', 'update'];

interface Case {
  readonly field: string;
  readonly value: unknown;
  readonly why: string;
  /** Where it is refused (default: everywhere). Elsewhere it is a legitimate value: a query for it simply matches nothing. */
  readonly refusedIn?: readonly Entry[];
}

const fn = (): number => 1;
const NUL = 'a\u0000b';

/**
 * Bad input, as data. Each case is refused with a `ValidationError` naming
 * the field, before any SQL, through every entry it lists; the table is
 * left unchanged. The model (spec/support/models.ts `everythingModel`) has
 * id AutoField, title CharField(10), body TextField(null), count
 * IntegerField, ratio FloatField(null), active BooleanField, at
 * DateTimeField(null), data JsonField(null), order IntegerField (column
 * "order"), selected CharField(20, column "select"), version
 * AutoIncVersionField.
 */
const CASES: readonly Case[] = [
  // Names that are not fields.
  { field: 'nope', value: 1, why: 'an unknown field' },
  { field: 'toString', value: 'x', why: 'an Object.prototype name' },
  { field: 'select', value: 'x', why: 'a column name that is not the property name' },
  // Values that are not values.
  { field: 'title', value: { toString: () => 'x' }, why: 'an object for a string' },
  { field: 'title', value: ['a'], why: 'an array for a string' },
  { field: 'title', value: fn, why: 'a function for a string' },
  { field: 'title', value: Symbol('s'), why: 'a symbol for a string' },
  { field: 'title', value: 5, why: 'a number for a string' },
  { field: 'body', value: { sql: 'x' }, why: 'an object for text' },
  { field: 'count', value: {}, why: 'an object for an integer' },
  { field: 'count', value: { $gt: 1 }, why: 'an operator object for an integer' },
  { field: 'count', value: [1], why: 'an array for an integer' },
  { field: 'count', value: fn, why: 'a function for an integer' },
  { field: 'count', value: Symbol('n'), why: 'a symbol for an integer' },
  { field: 'count', value: true, why: 'a boolean for an integer' },
  { field: 'count', value: new Date(0), why: 'a Date for an integer' },
  { field: 'active', value: 1, why: 'a number for a boolean' },
  { field: 'active', value: 'true', why: 'a string for a boolean' },
  { field: 'at', value: 'yesterday', why: 'a non-date string for a date' },
  { field: 'at', value: new Date(Number.NaN), why: 'an invalid Date' },
  { field: 'data', value: { f: fn }, why: 'a function inside JSON' },
  { field: 'data', value: Symbol('j'), why: 'a symbol as JSON' },
  { field: 'data', value: new Map(), why: 'a Map as JSON' },
  // Numbers that do not survive the trip.
  { field: 'count', value: Number.NaN, why: 'NaN for an integer' },
  { field: 'count', value: Number.POSITIVE_INFINITY, why: '+Infinity for an integer' },
  { field: 'count', value: Number.NEGATIVE_INFINITY, why: '-Infinity for an integer' },
  { field: 'ratio', value: Number.NaN, why: 'NaN for a float' },
  { field: 'ratio', value: Number.POSITIVE_INFINITY, why: '+Infinity for a float' },
  { field: 'ratio', value: Number.NEGATIVE_INFINITY, why: '-Infinity for a float' },
  { field: 'data', value: { n: Number.NaN }, why: 'NaN inside JSON' },
  { field: 'count', value: 1.5, why: '1.5 for an integer (MySQL would store 2)' },
  { field: 'order', value: 0.1, why: 'a fraction for an integer column named like a keyword' },
  { field: 'count', value: 2 ** 53, why: '2^53, an unsafe integer' },
  { field: 'count', value: -(2 ** 53), why: '-2^53, an unsafe integer' },
  { field: 'count', value: 2n ** 60n, why: 'an unsafe bigint' },
  { field: 'data', value: 10n, why: 'a bigint as JSON' },
  { field: 'count', value: '1', why: 'a numeric string for an integer' },
  { field: 'ratio', value: '0.5', why: 'a numeric string for a float' },
  // Strings the column cannot hold.
  { field: 'title', value: 'x'.repeat(11), why: 'eleven characters for maxLength 10', refusedIn: WRITES },
  { field: 'title', value: '😀'.repeat(11), why: 'eleven emoji (22 UTF-16 units) for maxLength 10', refusedIn: WRITES },
  { field: 'selected', value: 'é'.repeat(21), why: 'twenty-one two-byte characters for maxLength 20', refusedIn: WRITES },
  { field: 'title', value: NUL, why: 'a NUL character in a string (PostgreSQL text cannot store it)' },
  { field: 'body', value: NUL, why: 'a NUL character in text' },
  { field: 'data', value: { s: NUL }, why: 'a NUL character in a JSON string (PostgreSQL jsonb cannot store it)' },
  { field: 'data', value: { [NUL]: 1 }, why: 'a NUL character in a JSON key' },
  { field: 'body', value: 'broken \uD83D', why: 'a lone surrogate (would silently become U+FFFD)' },
  { field: 'title', value: '\uDE00x', why: 'a lone low surrogate' },
  { field: 'data', value: ['\uD83D'], why: 'a lone surrogate inside JSON' },
  // Nothing where something is needed.
  { field: 'title', value: undefined, why: 'undefined (assign null to clear a field)' },
  { field: 'body', value: undefined, why: 'undefined for a nullable field (null clears it)' },
  { field: 'title', value: null, why: 'null for a non-null field', refusedIn: WRITES },
  // Primary keys and versions.
  { field: 'id', value: '1 OR 1=1', why: 'an injection string for an integer key' },
  { field: 'id', value: 1.5, why: 'a fraction for an integer key' },
  { field: 'id', value: { id: 1 }, why: 'an object for an integer key' },
  { field: 'version', value: '1 OR 1=1', why: 'an injection string for a version' },
];

/** Attempts `value` for `field` through one entry; must throw a ValidationError before any SQL. */
type Attempt = (field: string, value: unknown) => Promise<unknown> | unknown;

forEachDialect('bad input: refused with a ValidationError naming the field, before any SQL', (d) => {
  const table = 'bad_input_things';
  let Thing: ReturnType<typeof everythingModel>;
  let saved: InstanceType<typeof Thing>;

  // Equality follows the column's collation. Exact matching on MySQL/MariaDB
  // needs a binary, NO PAD collation: Knex creates tables in the charset's
  // default, utf8mb4_general_ci, where case and trailing spaces are ignored
  // and every emoji equals every other (see README.md, Guarantees).
  const exactCollation = d.pick<string | null>({ sqlite: null, postgres: null, mysql: 'utf8mb4_nopad_bin' });

  beforeEach(async () => {
    await createEverythingTable(d.knex, table);
    if (exactCollation !== null) await d.knex.raw(`ALTER TABLE ?? CONVERT TO CHARACTER SET utf8mb4 COLLATE ${exactCollation}`, [table]);
    Thing = everythingModel(d.db, table);
    saved = await Thing.create({ title: 'saved', body: 'body', count: 1 });
  });

  const attempts: Record<Entry, Attempt[]> = {
    create: [(field, value) => Thing.create({ title: 'ok', [field]: value } as never)],
    assign: [
      async (field, value) => {
        const t = await Thing.get(saved.id);
        (t as unknown as Record<string, unknown>)[field] = value;
        await t.save();
      },
    ],
    update: [(field, value) => Thing.query().where('id', saved.id).update({ [field]: value })],
    // Plain JavaScript callers: the types refuse these names and values, so they are cast.
    where: [
      (field, value) => Thing.query().where(field as never, value as never),
      (field, value) => Thing.query().where(field as never, '=', value as never),
      (field, value) => Thing.query().where({ [field]: value }),
      (field, value) => Thing.query().where('id', saved.id).orWhere(field as never, value as never),
      (field, value) => Thing.query().whereNot(field as never, value as never),
      (field, value) => Thing.query().whereIn(field as never, [value as never]),
      (field, value) => Thing.query().whereNotIn(field as never, [value as never]),
    ],
  };

  for (const c of CASES) {
    const refused = c.refusedIn ?? EVERYWHERE;
    it(`refuses ${c.why} (${c.field}) in ${refused.join(', ')}`, async () => {
      // Assigning the primary key of a saved row is refused however it is written;
      // assignment is checked through a new instance for it.
      const before = await d.knex(table).orderBy('id');
      const { count, sql } = await countQueries(d.knex, async () => {
        for (const entry of refused) {
          for (const attempt of attempts[entry]) {
            // Thing.get() in the 'assign' attempt is the one read allowed: it happens before the bad value exists.
            const err = await rejection(async () => attempt(c.field, c.value), ValidationError);
            expect(err.field, `${entry}: ${err.message}`).to.equal(c.field);
            expect(err.message).to.contain(`Thing.${c.field}`);
          }
        }
      });
      const reads = refused.includes('assign') ? 1 : 0;
      expect(count, sql.join('\n')).to.equal(reads);
      expect(await d.knex(table).orderBy('id')).to.deep.equal(before);
    });
  }

  // Only assignment runs the field's checks; a JSON document or a Date changed in
  // place reaches save() unchecked, where JSON.stringify would turn NaN into null
  // and a Map into {}, a Date into a string, and an invalid Date would be stored
  // as NULL or garbage.
  it('refuses a JSON document or a Date made unstorable in place, at save() and at insert, before any SQL', async () => {
    const t = await Thing.get(saved.id);
    t.data = { n: 1, tags: [] };
    t.at = new Date(Date.UTC(2020, 0, 1));
    await t.save();
    const before = await d.knex(table).orderBy('id');
    const spoil: [string, (x: InstanceType<typeof Thing>) => void][] = [
      ['data', (x) => ((x.data as { n: number }).n = Number.NaN)],
      ['data', (x) => (x.data as { tags: unknown[] }).tags.push(new Map())],
      ['data', (x) => ((x.data as { when?: unknown }).when = new Date(0))],
      ['at', (x) => x.at!.setTime(Number.NaN)],
    ];
    const { count, sql } = await countQueries(d.knex, async () => {
      for (const [field, change] of spoil) {
        const loaded = (await Thing.query().where('id', saved.id).first())!;
        change(loaded);
        expect((await rejection(loaded.save(), ValidationError)).field).to.equal(field);
        const fresh = new Thing();
        fresh.title = 'new';
        fresh.data = { n: 1, tags: [] };
        fresh.at = new Date(Date.UTC(2020, 0, 1));
        change(fresh);
        expect((await rejection(fresh.save(), ValidationError)).field).to.equal(field);
      }
    });
    expect(count, sql.join('\n')).to.equal(spoil.length);
    expect(await d.knex(table).orderBy('id')).to.deep.equal(before);
  });

  it('refuses unknown fields in orderBy(), whereNull() and save({ fields }) before any SQL', async () => {
    const { count } = await countQueries(d.knex, async () => {
      for (const call of [
        // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
        () => Thing.query().orderBy('nope'),
        // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
        () => Thing.query().orderBy('select'),
        // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
        () => Thing.query().whereNull('nope'),
        // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
        () => Thing.query().whereNotNull('nope'),
      ]) {
        const err = await rejection(async () => call(), ValidationError);
        expect(['nope', 'select']).to.include(err.field);
      }
      saved.title = 'changed';
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      expect((await rejection(saved.save({ fields: ['nope'] }), ValidationError)).field).to.equal('nope');
    });
    expect(count).to.equal(0);
  });

  it('refuses a LIKE pattern that is not a plain string, or holds NUL', async () => {
    for (const bad of [{}, ['%'], 5, NUL, '%\uD83D']) {
      // @ts-expect-error: refused by the types too; this checks what plain JavaScript gets at run time
      const err = await rejection(async () => Thing.query().where('title', 'like', bad), ValidationError);
      expect(err.field).to.equal('title');
    }
  });

  it('finds nothing, without error, for a legitimate value no row can hold (over maxLength, or null)', async () => {
    expect(await Thing.query().where('title', 'x'.repeat(11))).to.deep.equal([]);
    expect(await Thing.query().where('title', null)).to.deep.equal([]);
  });

  // Values that look like SQL or like placeholders, and text that many layers get wrong.
  const TRICKY = [
    "'; DROP TABLE bad_input_things; --",
    "' OR '1'='1",
    'quote \' double " back `',
    'back\\slash \\\' \\"',
    '100% _match_ %_%',
    '? ?? $1 :name \\?',
    'emoji 😀👍🏽 family 👨‍👩‍👧',
    'rtl \u200F mark \u202E override \u202C',
    'combining é vs é',
    'tab\tnewline\ncr\r',
    'trailing space ',
    'CaSe',
  ];
  // A near miss for each: the same text with its last character (code point) changed.
  const nearMiss = (value: string): string => {
    const chars = [...value];
    const last = chars.pop()!;
    return chars.join('') + (last === '👍' ? '👎' : /\p{Extended_Pictographic}/u.test(last) ? '👍' : last === last.toLowerCase() ? last.toUpperCase() === last ? `${last}x` : last.toUpperCase() : last.toLowerCase());
  };

  for (const value of TRICKY) {
    it(`stores ${JSON.stringify(value)} byte for byte through create(), assignment and update(), and where() finds exactly those rows`, async () => {
      const decoy = nearMiss(value);
      expect(decoy).not.to.equal(value);
      const head = [...value].slice(0, 20).join(''); // what fits CharField({ maxLength: 20 })
      await Thing.create({ title: 'decoy', body: decoy, selected: nearMiss(head) });
      await Thing.create({ title: 'decoy', body: value.trimEnd() === value ? `${value} ` : value.trimEnd(), selected: 'decoy' });
      const created = await Thing.create({ title: 'created', body: value, selected: head });
      const assigned = await Thing.create({ title: 'assigned' });
      assigned.body = value;
      assigned.selected = head;
      await assigned.save();
      const updated = await Thing.create({ title: 'updated' });
      expect(await Thing.query().where('id', updated.id).update({ body: value, selected: head })).to.equal(1);
      const ids = [created.id, assigned.id, updated.id];
      for (const query of [
        Thing.query().where('body', value),
        Thing.query().where('body', '=', value),
        Thing.query().where({ body: value }),
        Thing.query().whereIn('body', [value]),
        Thing.query().where('selected', head),
      ]) {
        expect((await query.orderBy('id')).map((t) => t.id), query.toString()).to.deep.equal(ids);
      }
      for (const id of ids) {
        const row = await d.knex(table).where({ id }).first();
        expect(Buffer.from(row.body, 'utf8').equals(Buffer.from(value, 'utf8')), JSON.stringify(row.body)).to.equal(true);
        expect(row.select).to.equal(head);
        expect((await Thing.get(id)).body).to.equal(value);
      }
      expect(await d.knex(table).count({ n: '*' }).then((r) => Number(r[0]!.n))).to.equal(6);
    });
  }
});
