import type { Knex } from 'knex';
import { expect } from 'chai';
import {
  addVersionColumn,
  CharField,
  ConditionalVersionField,
  DatabaseValueError,
  disableConcurrency,
  Model,
  RecordDeletedError,
  RecordModifiedError,
  ValidationError,
  VersionField,
} from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { VERSION_KINDS, VersionKind } from './support/models';
import { countQueries, recreateTable } from './support/schema';
import { gate, settle } from './support/session';
import { sleep } from './support/connection-variants';

// Versions at the edges: a stale copy never matches a row it did not load.

const KINDS: readonly VersionKind[] = [
  ...VERSION_KINDS,
  {
    name: 'ConditionalVersionField',
    make: () => new ConditionalVersionField({ ignoreFields: ['note'] }),
    isInitial: VERSION_KINDS[1]!.isInitial,
    isNext: VERSION_KINDS[1]!.isNext,
    saveStatements: VERSION_KINDS[1]!.saveStatements,
    keptByDatabase: false,
  },
];

/** A model called `name`, keyed by a string code (so a row can be re-created under the same key), with `kind`'s version. */
function codedModel(name: string, table: string, kind: { make(): VersionField }) {
  class Coded extends Model {
    static table = table;
    static fields = {
      code: new CharField({ maxLength: 10, primaryKey: true }),
      owner: new CharField({ maxLength: 20 }),
      note: new CharField({ maxLength: 20, default: '' }),
      version: kind.make(),
    };
    declare code: string;
    declare owner: string;
    declare note: string;
    declare version: number;
  }
  // Errors name the model by its class name.
  Object.defineProperty(Coded, 'name', { value: name });
  return Coded;
}

/** The table of `codedModel`, afresh, with what `kind` needs (its trigger). */
async function createCodedTable(knex: Knex, table: string, kind: { install?(knex: Knex, table: string): Promise<void> }): Promise<void> {
  await recreateTable(knex, table, (t) => {
    t.string('code', 10).primary();
    t.string('owner', 20).notNullable();
    t.string('note', 20).notNullable().defaultTo('');
    addVersionColumn(t);
  });
  await kind.install?.(knex, table);
}

// A microsecond clock reading after 2020.
const CLOCK_2020 = 1_577_836_800_000_000;

forEachDialect('edge versions: a stale copy of a deleted row never matches a re-created one (ABA)', (d) => {
  for (const kind of KINDS) {
    describe(kind.name, () => {
      const table = 'edge_aba';

      const S = codedModel('S', table, kind);

      beforeEach(async () => {
        await createCodedTable(d.knex, table, kind);
        S.bind(d.db);
      });

      it('new rows start from the clock, then count as before', async () => {
        const s = await S.create({ code: 'A', owner: 'alice' });
        expect(s.version).to.be.greaterThan(CLOCK_2020);
        expect(Number.isSafeInteger(s.version)).to.equal(true);
        const v = s.version;
        s.owner = 'anne';
        await s.save();
        expect(kind.isNext(v, s.version), `${v} -> ${s.version}`).to.equal(true);
        // A row inserted by other SQL gets the column's default: the database clock.
        await d.knex(table).insert({ code: 'R', owner: 'raw' });
        expect((await S.get('R')).version).to.be.greaterThan(CLOCK_2020);
      });

      for (const recreate of ['create()', 'raw SQL INSERT'] as const) {
        it(`a stale copy's save() and delete() conflict with a row re-created by ${recreate}, however often each was saved`, async () => {
          const first = await S.create({ code: 'K', owner: 'alice' });
          first.owner = 'alice1';
          await first.save();
          const stale = await S.get('K');
          // The first incarnation moves on: the stale copy is behind it.
          first.owner = 'alice2';
          await first.save();
          await first.delete();
          if (recreate === 'create()') await S.create({ code: 'K', owner: 'bob' });
          else await d.knex(table).insert({ code: 'K', owner: 'bob' });
          const bob = await S.get('K');
          // Whatever version the new row has reached, the stale copy never matches it.
          for (let i = 0; i < 4; i++) {
            stale.owner = 'mallory';
            const err = await rejection(() => stale.save(), RecordModifiedError);
            expect(err).to.not.be.instanceOf(RecordDeletedError);
            expect(err.actualVersion).to.equal(bob.version);
            await rejection(() => stale.delete(), RecordModifiedError);
            bob.owner = `bob${i}`;
            await bob.save();
          }
          expect((await S.get('K')).owner).to.equal('bob3');
        });
      }
    });
  }
});

forEachDialect('edge versions: addVersionColumn on a table that already has rows', (d) => {
  it('adds the column, every existing row gets a version, and new rows start from the clock', async () => {
    const table = 'edge_added';
    await recreateTable(d.knex, table, (t) => {
      t.string('code', 10).primary();
      t.string('owner', 20).notNullable();
      t.string('note', 20).notNullable().defaultTo('');
    });
    await d.knex(table).insert([{ code: 'A', owner: 'a' }, { code: 'B', owner: 'b' }]);
    // Added by ALTER TABLE the column defaults to 0 (SQLite refuses a clock default there, PostgreSQL would rewrite the table).
    await d.knex.schema.alterTable(table, (t) => {
      addVersionColumn(t);
    });
    class Later extends Model {
      static table = table;
      static fields = { code: new CharField({ maxLength: 10, primaryKey: true }), owner: new CharField({ maxLength: 20 }), note: new CharField({ maxLength: 20, default: '' }), version: KINDS[1]!.make() as VersionField };
      declare code: string;
      declare owner: string;
      declare version: number;
    }
    Later.bind(d.db);
    const a = await Later.get('A');
    expect(Number.isSafeInteger(a.version)).to.equal(true);
    a.owner = 'a2';
    await a.save();
    expect((await Later.create({ code: 'C', owner: 'c' })).version).to.be.greaterThan(CLOCK_2020);
  });
});

// Rows that other SQL inserts take the version column's default: the database
// clock wherever the database lets a default be an expression, so two
// incarnations of a row inserted by other SQL never share a version either.
forEachDialect('edge versions: rows inserted by other SQL, deleted and inserted again', (d) => {
  for (const via of ['createTable', 'alterTable'] as const) {
    // SQLite cannot give a column that ALTER TABLE adds an expression default
    // (nor change a default without rebuilding the table): 0, as documented.
    const clock = via === 'createTable' || d.pick({ sqlite: false, postgres: true, mysql: true });
    it(`addVersionColumn in ${via}: ${clock ? "a stale copy's save() and delete() conflict with the row inserted again" : 'rows inserted by other SQL start at 0 (documented)'}`, async () => {
      const table = 'edge_raw_aba';
      await recreateTable(d.knex, table, (t) => {
        t.string('code', 10).primary();
        t.string('owner', 20).notNullable();
        t.string('note', 20).notNullable().defaultTo('');
        if (via === 'createTable') addVersionColumn(t);
      });
      if (via === 'alterTable') {
        await d.knex(table).insert({ code: 'OLD', owner: 'before the column' });
        await d.knex.schema.alterTable(table, (t) => {
          addVersionColumn(t);
        });
        // The rows already there get 0 (a constant default: no table rewrite).
        expect(Number((await d.knex(table).where({ code: 'OLD' }).first()).version)).to.equal(0);
      }
      const S = codedModel('S', table, KINDS[1]!);
      S.bind(d.db);
      await d.knex(table).insert({ code: 'K', owner: 'alice' });
      const stale = await S.get('K');
      await d.knex(table).where({ code: 'K' }).del();
      // SQLite's clock counts milliseconds: inserts by other SQL a millisecond apart (docs/edges.md).
      await sleep(2);
      await d.knex(table).insert({ code: 'K', owner: 'bob' });
      const bob = await S.get('K');
      if (!clock) {
        expect([stale.version, bob.version]).to.deep.equal([0, 0]);
        return;
      }
      expect(bob.version).to.be.greaterThan(stale.version);
      expect(stale.version).to.be.greaterThan(CLOCK_2020);
      stale.owner = 'mallory';
      const err = await rejection(() => stale.save(), RecordModifiedError);
      expect(err.actualVersion).to.equal(bob.version);
      await rejection(() => stale.delete(), RecordModifiedError);
      expect((await S.get('K')).owner).to.equal('bob');
    });
  }

  it('a version column with the clock default can still be renamed (Knex renameColumn)', async () => {
    const table = 'edge_raw_rename';
    await recreateTable(d.knex, table, (t) => {
      t.string('code', 10).primary();
      addVersionColumn(t);
    });
    await d.knex.schema.alterTable(table, (t) => t.renameColumn('version', 'revision'));
    await d.knex(table).insert({ code: 'A' });
    expect(Number((await d.knex(table).first()).revision)).to.be.greaterThan(CLOCK_2020);
  });
});

// Beyond 2^53 - 1 a JavaScript number cannot tell neighbouring versions
// apart; only other SQL can write such a version. It is refused with the
// library's own error, before anything is written, never after.
const UNSAFE = '9007199254740993'; // 2^53 + 1
const AT_LIMIT = Number.MAX_SAFE_INTEGER; // 2^53 - 1: safe, but cannot be raised

forEachDialect('edge versions: versions above 2^53 written by other SQL', (d) => {
  for (const kind of KINDS) {
    describe(kind.name, () => {
      const table = 'edge_big';

      const B = codedModel('B', table, kind);

      beforeEach(async () => {
        await createCodedTable(d.knex, table, kind);
        B.bind(d.db);
      });

      const ownerOf = async (code: string) => (await d.knex(table).where({ code }).first())?.owner as string | undefined;

      /** A stale copy of row `code`, whose row is then replaced by other SQL with `version` (a trigger would override an UPDATE of it). */
      async function staleAgainst(code: string, version: string | number | null): Promise<InstanceType<typeof B>> {
        const first = await B.create({ code, owner: 'alice' });
        const stale = await B.get(code);
        await first.delete();
        await d.knex(table).insert({ code, owner: 'raw', version });
        stale.owner = 'mallory';
        return stale;
      }

      it('loading such a row is a DatabaseValueError', async () => {
        await d.knex(table).insert({ code: 'U', owner: 'raw', version: UNSAFE });
        const err = await rejection(() => B.get('U'), DatabaseValueError);
        expect(err.message).to.match(/safe/);
        await rejection(() => B.query().where('code', 'U'), DatabaseValueError);
      });

      it("a stale save or delete against it is a DatabaseValueError naming the row, and writes nothing", async () => {
        const stale = await staleAgainst('S', UNSAFE);
        const err = await rejection(() => stale.save(), DatabaseValueError);
        expect(err).to.include({ model: 'B', pk: 'S', column: 'version' });
        expect(err.message).to.match(/S: its version column .* holds 900719925474099\d/).and.to.match(/Nothing was written/);
        await rejection(() => stale.delete(), DatabaseValueError);
        expect(await ownerOf('S')).to.equal('raw');
      });

      it('under disableConcurrency it is refused before the write lands, not after', async () => {
        const stale = await staleAgainst('D', UNSAFE);
        await rejection(() => disableConcurrency(() => stale.save()), DatabaseValueError);
        expect(await ownerOf('D'), 'nothing was written').to.equal('raw');
        const atLimit = await staleAgainst('L', AT_LIMIT);
        await rejection(() => disableConcurrency(() => atLimit.save()), DatabaseValueError);
        expect(await ownerOf('L'), 'nothing was written').to.equal('raw');
      });

      it('a row at 2^53 - 1 loads, and a save that would raise it past is refused before any SQL', async () => {
        await d.knex(table).insert({ code: 'M', owner: 'raw', version: AT_LIMIT });
        const m = await B.get('M');
        expect(m.version).to.equal(AT_LIMIT);
        m.owner = 'moved';
        // Refused before any SQL, in the version the instance holds: a ValidationError of the version field.
        const { count, result } = await countQueries(d.knex, () => rejection(() => m.save(), ValidationError));
        expect(count).to.equal(0);
        expect(result.field).to.equal('version');
        expect(result.message).to.match(/cannot be compared and raised exactly/);
        await rejection(() => disableConcurrency(() => m.save()), ValidationError);
        expect(await ownerOf('M')).to.equal('raw');
      });

      it('a bulk query().update() that would raise a version past 2^53 - 1 is refused before it writes anything', async () => {
        const n = await B.create({ code: 'N', owner: 'alice' });
        await d.knex(table).insert([{ code: 'M', owner: 'raw', version: AT_LIMIT }, { code: 'U', owner: 'raw', version: UNSAFE }]);
        const before = await d.knex(table).orderBy('code');
        for (const where of [undefined, 'M', 'U'] as const) {
          const q = where === undefined ? B.query() : B.query().where('code', where).orWhere('code', 'N');
          const err = await rejection(() => q.update({ owner: 'bulk' }), DatabaseValueError);
          expect(err).to.include({ model: 'B', column: 'version' });
          expect(err.message).to.match(/Nothing was written/);
          expect(await d.knex(table).orderBy('code'), 'nothing was written').to.deep.equal(before);
        }
        // Also inside a transaction, which stays usable (nothing failed in the database).
        await d.db.transaction(async () => {
          await rejection(() => B.query().update({ owner: 'bulk' }), DatabaseValueError);
          // An or-ed condition does not escape the guard: code = N OR code = M, and the version check, hold together.
          expect(await B.query().where('code', 'N').orWhere('code', 'nobody').update({ owner: 'bulk' })).to.equal(1);
        });
        expect(await d.knex(table).orderBy('code').select('code', 'owner')).to.deep.equal([
          { code: 'M', owner: 'raw' },
          { code: 'N', owner: 'bulk' },
          { code: 'U', owner: 'raw' },
        ]);
        // The bulk update bumped N's version: the copy loaded before it conflicts.
        n.owner = 'late';
        await rejection(() => n.save(), RecordModifiedError);
      });
    });
  }
});

// A legacy nullable version column: NULL is neither "deleted" nor a version.
forEachDialect('edge versions: a NULL version column', (d) => {
  for (const kind of KINDS) {
    describe(kind.name, () => {
      const table = 'edge_null';

      const N = codedModel('N', table, kind);

      beforeEach(async () => {
        await recreateTable(d.knex, table, (t) => {
          t.string('code', 10).primary();
          t.string('owner', 20).notNullable();
          t.string('note', 20).notNullable().defaultTo('');
          t.bigInteger('version').nullable();
        });
        await kind.install?.(d.knex, table);
        N.bind(d.db);
      });

      const ownerOf = async (code: string) => (await d.knex(table).where({ code }).first())?.owner as string | undefined;

      it('a row loaded with a NULL version cannot be saved or deleted: a ValidationError saying what to do, before any SQL', async () => {
        await d.knex(table).insert({ code: 'N', owner: 'raw', version: null });
        const n = await N.get('N');
        expect(n.version).to.equal(null);
        n.owner = 'changed';
        const { count, result } = await countQueries(d.knex, () => rejection(() => n.save(), ValidationError));
        expect(count).to.equal(0);
        expect(result.field).to.equal('version');
        expect(result.message).to.match(/is NULL/).and.to.match(/NOT NULL/).and.to.match(/UPDATE edge_null SET version/);
        await rejection(() => n.delete(), ValidationError);
        expect(await ownerOf('N')).to.equal('raw');
      });

      it('a stale save or delete that meets a NULL version is a DatabaseValueError, not RecordDeletedError', async () => {
        const first = await N.create({ code: 'S', owner: 'alice' });
        const stale = await N.get('S');
        await first.delete();
        await d.knex(table).insert({ code: 'S', owner: 'raw', version: null });
        stale.owner = 'mallory';
        const err = await rejection(() => stale.save(), DatabaseValueError);
        expect(err).to.include({ pk: 'S', value: null });
        await rejection(() => stale.delete(), DatabaseValueError);
        expect(await ownerOf('S')).to.equal('raw');
        // A row that is really gone is still RecordDeletedError.
        await d.knex(table).where({ code: 'S' }).delete();
        await rejection(() => stale.save(), RecordDeletedError);
      });
    });
  }
});

// A save inside an open transaction holds a version nobody else can see
// yet. Saved again from outside, SQLite and MySQL wait for the transaction
// and then match it; PostgreSQL's UPDATE does not wait for a row it cannot
// match, and the error says the held version is not committed yet.
forEachDialect('edge versions: a version saved inside an open transaction, saved again from outside', (d) => {
  const table = 'edge_open';
  const outcome = d.pick({ sqlite: 'waits', postgres: 'not committed', mysql: 'waits' });

  class O extends Model {
    static table = table;
    static fields = {
      code: new CharField({ maxLength: 10, primaryKey: true }),
      owner: new CharField({ maxLength: 20 }),
      version: VERSION_KINDS[1]!.make(),
    };
    declare code: string;
    declare owner: string;
    declare version: number;
  }

  beforeEach(async () => {
    await recreateTable(d.knex, table, (t) => {
      t.string('code', 10).primary();
      t.string('owner', 20).notNullable();
      addVersionColumn(t);
    });
    O.bind(d.db);
  });

  it(`${outcome === 'waits' ? 'waits for the commit, then saves' : 'fails with a RecordModifiedError that says the held version is not committed yet'}`, async () => {
    const o = await O.create({ code: 'T', owner: 'a' });
    const committed = o.version;
    const saved = gate();
    const release = gate();
    const trx = d.db.transaction(async () => {
      o.owner = 'inside';
      await o.save();
      saved.open();
      await release.opened;
    });
    await saved.opened;
    const held = o.version;
    expect(held).to.be.greaterThan(committed);
    o.owner = 'outside';
    const outside = settle(o.save());
    await new Promise((resolve) => setTimeout(resolve, 300));
    release.open();
    await trx;
    const result = await outside;
    if (outcome === 'waits') {
      expect(result.ok, String(!result.ok && result.error)).to.equal(true);
      expect(await d.knex(table).where({ code: 'T' }).first()).to.include({ owner: 'outside' });
      return;
    }
    expect(result.ok).to.equal(false);
    const err = (result as { error: RecordModifiedError }).error;
    expect(err).to.be.instanceOf(RecordModifiedError);
    expect(err.expectedVersion).to.equal(held);
    expect(err.actualVersion).to.equal(committed);
    expect(err.message).to.match(/not committed yet/).and.to.match(/inside that transaction, or after it commits/);
    // Once committed, the same save goes through.
    await o.save();
    expect(await d.knex(table).where({ code: 'T' }).first()).to.include({ owner: 'outside' });
  });
});
