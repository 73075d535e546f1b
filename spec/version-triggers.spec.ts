import { expect } from 'chai';
import {
  checkTriggersAfterMigration,
  checkVersionTriggers,
  createVersionTrigger,
  dropVersionTrigger,
  listVersionTriggers,
  MissingTriggerError,
  UsageError,
  versionTriggerName,
} from '../lib';
import { RUN_DB } from './support/dialects';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { recreateTable } from './support/schema';

const TRIGGER_KIND = VERSION_KINDS.find((k) => k.name === 'TriggerVersionField')!;
const AUTO_INC_KIND = VERSION_KINDS.find((k) => k.name === 'AutoIncVersionField')!;

describe('versionTriggerName', () => {
  it('is deterministic, readable, at most 63 characters, and distinct for every table and column', () => {
    const name = versionTriggerName('products', 'version');
    expect(name).to.match(/^kc_version_products_version_[0-9a-f]{10}$/);
    expect(versionTriggerName('products', 'version')).to.equal(name);
    expect(versionTriggerName('public.products', 'version')).to.equal(name);
    expect(versionTriggerName('a_b', 'c')).not.to.equal(versionTriggerName('a', 'b_c'));
    expect(versionTriggerName('Items', 'v')).not.to.equal(versionTriggerName('items', 'v'));
    const long = 'x'.repeat(60);
    const [one, two] = [versionTriggerName(`${long}1`, 'version'), versionTriggerName(`${long}2`, 'version')];
    expect(one).to.have.length(63);
    expect(one).not.to.equal(two);
    expect(versionTriggerName('naïve table', 'ver-sion')).to.match(/^kc_version_na_ve_table_ver_sion_[0-9a-f]{10}$/);
  });
});

forEachDialect('version trigger tooling: create, drop, list, check', (d) => {
  const table = 'tooling_products';
  const name = versionTriggerName(table, 'version');
  const versionOf = async (t: string) => Number((await d.knex(t).first()).version);

  beforeEach(async () => {
    for (const t of await listVersionTriggers(d.knex)) await dropVersionTrigger(d.knex, t.table, t.column ?? 'version');
    await createProductTable(d.knex, table);
  });

  it('creating twice is harmless; list shows it with its column; dropping twice is harmless', async () => {
    expect(await createVersionTrigger(d.knex, table, 'version')).to.equal(true);
    expect(await createVersionTrigger(d.db, table, 'version')).to.equal(false);
    const listed = (await listVersionTriggers(d.db)).filter((t) => t.table === table);
    expect(listed).to.deep.equal([{ name, table, column: 'version', enabled: true }]);
    await d.knex(table).insert({ name: 'x', description: '', version: 1 });
    await d.knex(table).update({ stock: 1 });
    expect(await versionOf(table)).to.equal(2);
    expect(await dropVersionTrigger(d.knex, table, 'version')).to.equal(true);
    expect(await dropVersionTrigger(d.knex, table, 'version')).to.equal(false);
    expect(await listVersionTriggers(d.knex)).to.deep.equal([]);
    await d.knex(table).update({ stock: 2 });
    expect(await versionOf(table)).to.equal(2);
  });

  it('dropping leaves nothing behind (PostgreSQL: the trigger function too)', async () => {
    const leftovers = d.pick({ sqlite: undefined, mysql: undefined, postgres: 'SELECT count(*)::int AS n FROM pg_proc WHERE proname = ?' });
    await createVersionTrigger(d.knex, table, 'version');
    if (leftovers !== undefined) expect((await d.knex.raw(leftovers, [name])).rows[0].n).to.equal(1);
    await dropVersionTrigger(d.knex, table, 'version');
    if (leftovers !== undefined) expect((await d.knex.raw(leftovers, [name])).rows[0].n).to.equal(0);
  });

  it('works inside a migration transaction, and rolls back with it where DDL is transactional', async () => {
    await d.knex.transaction((trx) => createVersionTrigger(trx, table, 'version'));
    expect(await listVersionTriggers(d.knex)).to.have.length(1);
    await dropVersionTrigger(d.knex, table, 'version');
    await d.knex
      .transaction(async (trx) => {
        await createVersionTrigger(trx, table, 'version');
        throw new Error('migration failed');
      })
      .catch(() => undefined);
    // MySQL commits DDL as it goes: the trigger stays.
    expect(await listVersionTriggers(d.knex)).to.have.length(d.pick({ sqlite: 0, postgres: 0, mysql: 1 }));
  });

  it('names never collide: tables a_b.c and a.b_c, and long names, each get their own trigger', async () => {
    const long = `tooling_${'l'.repeat(50)}`;
    const tables: [string, string][] = [['tooling_a_b', 'c'], ['tooling_a', 'b_c'], [`${long}1`, 'version'], [`${long}2`, 'version']];
    for (const [t, c] of tables) {
      await recreateTable(d.knex, t, (b) => {
        b.increments('id');
        b.bigInteger(c).notNullable().defaultTo(1);
      });
      expect(await createVersionTrigger(d.knex, t, c)).to.equal(true);
    }
    const listed = await listVersionTriggers(d.knex);
    expect(listed.map((t) => [t.table, t.column])).to.have.deep.members(tables);
    for (const [t, c] of tables) {
      await d.knex(t).insert({});
      await d.knex(t).update({ [c]: d.knex.raw('??', [c]) });
      expect(Number((await d.knex(t).first())[c])).to.equal(2);
    }
    for (const [t] of tables) await d.knex.schema.dropTable(t);
  });

  it('refuses a table that does not exist, a column it lacks, and bad arguments', async () => {
    await rejection(createVersionTrigger(d.knex, 'tooling_missing', 'version'), UsageError);
    const err = await rejection(createVersionTrigger(d.knex, table, 'revision'), UsageError);
    expect(err.message).to.match(/has no column revision \(it has id, name, .*version\)/);
    expect(await listVersionTriggers(d.knex)).to.deep.equal([]);
    await rejection(createVersionTrigger(d.knex, '', 'version'), UsageError);
    await rejection(createVersionTrigger({} as never, table, 'version'), UsageError);
  });

  // Only PostgreSQL has schemas inside the database.
  const schema = d.pick({ sqlite: undefined, mysql: undefined, postgres: `${RUN_DB}_other` });
  if (schema !== undefined) it('a table of the same name in another schema gets its own trigger', async () => {
    await d.knex.raw(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await d.knex.raw(`CREATE SCHEMA "${schema}"`);
    try {
      await createProductTable(d.knex, `${schema}.${table}`);
      expect(await createVersionTrigger(d.knex, table, 'version')).to.equal(true);
      expect(await createVersionTrigger(d.knex, `${schema}.${table}`, 'version')).to.equal(true);
      expect((await listVersionTriggers(d.knex)).map((t) => t.table)).to.have.members([table, `${schema}.${table}`]);
      expect(await dropVersionTrigger(d.knex, table, 'version')).to.equal(true);
      expect(await listVersionTriggers(d.knex)).to.deep.equal([{ name, table: `${schema}.${table}`, column: 'version', enabled: true }]);
    } finally {
      await d.knex.raw(`DROP SCHEMA "${schema}" CASCADE`);
    }
  });

  describe('checkVersionTriggers', () => {
    it('names every TriggerVersionField model whose trigger is missing, ignores other models, and is empty when all is well', async () => {
      const Product = productModel(d.db, table, TRIGGER_KIND);
      const Plain = productModel(d.db, table, AUTO_INC_KIND);
      const [problem] = await checkVersionTriggers(d.db, [Product, Plain]);
      expect(problem).to.include({ kind: 'missing', table, column: 'version', trigger: name, model: 'Product' });
      expect(problem!.message).to.include(name).and.to.include(`createVersionTrigger(knex, '${table}', 'version')`);
      expect(await checkVersionTriggers(d.knex, [{ table, column: 'version' }])).to.have.length(1);
      await createVersionTrigger(d.knex, table, 'version');
      expect(await checkVersionTriggers(d.db, [Product, Plain])).to.deep.equal([]);
      expect(await checkVersionTriggers(d.db)).to.deep.equal([]);
    });

    it('reports a trigger that no longer matches a column (the version column was renamed)', async () => {
      await createVersionTrigger(d.knex, table, 'version');
      await d.knex.schema.alterTable(table, (t) => t.renameColumn('version', 'revision'));
      const [listed] = await listVersionTriggers(d.knex);
      expect(listed).to.include({ name, table, column: null });
      const problems = await checkVersionTriggers(d.knex);
      expect(problems.map((p) => p.kind)).to.deep.equal(['orphaned']);
      expect(problems[0]!.message).to.include(name).and.to.match(/renamed/);
    });

    // Only PostgreSQL keeps a trigger that does not fire.
    const disable = d.pick({ sqlite: undefined, mysql: undefined, postgres: `ALTER TABLE "${table}" DISABLE TRIGGER "${name}"` });
    if (disable !== undefined) it('a disabled trigger is a problem, and saves fail as if it were missing', async () => {
      await createVersionTrigger(d.knex, table, 'version');
      const Product = productModel(d.db, table, TRIGGER_KIND);
      const p = await Product.create({ name: 'x' });
      await d.knex.raw(disable);
      expect((await checkVersionTriggers(d.db, [Product])).map((x) => x.kind)).to.deep.equal(['disabled']);
      expect((await checkVersionTriggers(d.db)).map((x) => x.kind)).to.deep.equal(['disabled']);
      p.name = 'y';
      await rejection(p.save(), MissingTriggerError);
    });
  });

  describe('checkTriggersAfterMigration', () => {
    it('reports a trigger a table rebuild removed (SQLite .alter()), and nothing where the trigger survives', async () => {
      await createVersionTrigger(d.knex, table, 'version');
      const before = await listVersionTriggers(d.knex);
      await d.knex.schema.alterTable(table, (t) => t.string('name', 200).notNullable().alter());
      const problems = await checkTriggersAfterMigration(d.knex, before);
      expect(problems.map((p) => p.kind)).to.deep.equal(d.pick({ sqlite: ['removed'], postgres: [], mysql: [] }));
      for (const p of problems) {
        expect(p).to.include({ table, column: 'version', trigger: name });
        expect(p.message).to.match(/rebuild/).and.to.include(`createVersionTrigger(knex, '${table}', 'version')`);
      }
      await createVersionTrigger(d.knex, table, 'version');
      expect(await checkTriggersAfterMigration(d.knex, before)).to.deep.equal([]);
    });

    it('a dropped table or version column is no problem; a trigger left on a dropped column is', async () => {
      await createVersionTrigger(d.knex, table, 'version');
      const before = await listVersionTriggers(d.knex);
      await d.knex.schema.alterTable(table, (t) => t.dropColumn('version'));
      // SQLite drops the trigger with the column; the others keep a trigger that now fails every UPDATE.
      expect((await checkTriggersAfterMigration(d.knex, before)).map((p) => p.kind)).to.deep.equal(d.pick({ sqlite: [], postgres: ['orphaned'], mysql: ['orphaned'] }));
      await d.knex.schema.dropTable(table);
      expect(await checkTriggersAfterMigration(d.knex, before)).to.deep.equal([]);
      await rejection(checkTriggersAfterMigration(d.knex, 'tables' as never), UsageError);
    });
  });
});
