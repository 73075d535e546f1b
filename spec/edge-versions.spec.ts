import { expect } from 'chai';
import {
  addVersionColumn,
  CharField,
  ConditionalVersionField,
  Model,
  RecordDeletedError,
  RecordModifiedError,
  VersionField,
} from '../lib';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { VERSION_KINDS, VersionKind } from './support/models';
import { recreateTable } from './support/schema';

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

// A microsecond clock reading after 2020.
const CLOCK_2020 = 1_577_836_800_000_000;

forEachDialect('edge versions: a stale copy of a deleted row never matches a re-created one (ABA)', (d) => {
  for (const kind of KINDS) {
    describe(kind.name, () => {
      const table = 'edge_aba';

      class S extends Model {
        static table = table;
        static fields = {
          code: new CharField({ maxLength: 10, primaryKey: true }),
          owner: new CharField({ maxLength: 20 }),
          note: new CharField({ maxLength: 20, default: '' }),
          version: kind.make() as VersionField,
        };
        declare code: string;
        declare owner: string;
        declare note: string;
        declare version: number;
      }

      beforeEach(async () => {
        await recreateTable(d.knex, table, (t) => {
          t.string('code', 10).primary();
          t.string('owner', 20).notNullable();
          t.string('note', 20).notNullable().defaultTo('');
          addVersionColumn(t);
        });
        await kind.install?.(d.knex, table);
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
        // A row inserted by other SQL gets the column's default: the database clock
        // (MySQL: 0, below every version the library writes; see addVersionColumn).
        await d.knex(table).insert({ code: 'R', owner: 'raw' });
        const raw = (await S.get('R')).version;
        if (d.pick({ sqlite: true, postgres: true, mysql: false })) expect(raw).to.be.greaterThan(CLOCK_2020);
        else expect(raw).to.equal(0);
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
