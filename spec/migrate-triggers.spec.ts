import { expect } from 'chai';
import { listVersionTriggers, versionTriggerName } from '../lib';
import { MigrateScenario, runCli } from './migrate-fixtures';
import { forEachDialect } from './support/for-each-dialect';

const CREATE = `import type { Knex } from 'knex';
import { addVersionColumn, createVersionTrigger } from 'knex-concurrency';
export async function up(knex: Knex) {
  await knex.schema.createTable('gizmos', (t) => { t.increments('id'); t.string('name', 50).notNullable(); addVersionColumn(t); });
  await createVersionTrigger(knex, 'gizmos', 'version');
}
export async function down(knex: Knex) { await knex.schema.dropTable('gizmos'); }
`;

forEachDialect('bin/migrate and version triggers', (d) => {
  let s: MigrateScenario;
  beforeEach(async () => {
    s = await new MigrateScenario(d, 'trig').setUp();
  });
  afterEach(async () => {
    await s.tearDown();
  });

  // How a migration can lose a trigger on each database: SQLite rebuilds the
  // table for .alter(); elsewhere a migration must drop it explicitly.
  const LOSE_TRIGGER = d.pick({
    sqlite: `await knex.schema.alterTable('gizmos', (t) => { t.string('name', 80).notNullable().alter(); });`,
    postgres: `await knex.raw('DROP TRIGGER ${versionTriggerName('gizmos', 'version')} ON gizmos');`,
    mysql: `await knex.raw('DROP TRIGGER ${versionTriggerName('gizmos', 'version')}');`,
  });

  it('fails loudly, naming the trigger, when a migration removed one; triggers create heals it and check passes', async () => {
    s.write('001_create_gizmos.ts', CREATE);
    const first = await s.run();
    expect(first.code, first.stderr).to.equal(0);
    expect(await listVersionTriggers(s.db)).to.have.length(1);

    s.write('002_change_gizmos.ts', `export async function up(knex) { ${LOSE_TRIGGER} }\nexport async function down() {}\n`);
    const broken = await s.run();
    expect(broken.code).to.equal(1);
    expect(broken.stderr).to.match(/batch 2 was applied, but it left version triggers missing/);
    expect(broken.stderr).to.contain('gizmos');
    expect(await listVersionTriggers(s.db)).to.have.length(0);

    const check = await runCli(['triggers', 'check', '--table', 'gizmos', '--column', 'version', '--url', s.url]);
    expect(check.code).to.equal(1);
    const create = await runCli(['triggers', 'create', '--table', 'gizmos', '--column', 'version', '--url', s.url]);
    expect(create.code, create.stderr).to.equal(0);
    const healed = await runCli(['triggers', 'check', '--table', 'gizmos', '--column', 'version', '--url', s.url]);
    expect(healed.code, healed.stderr + healed.stdout).to.equal(0);
    const list = await runCli(['triggers', 'list', '--url', s.url]);
    expect(list.code).to.equal(0);
    expect(list.stdout).to.contain('gizmos');
  });

  it('rolling back is checked too: a column drop keeps the trigger, except where it rebuilds the table', async () => {
    s.write('001_create_gizmos.ts', CREATE);
    expect((await s.run()).code).to.equal(0);
    s.write('002_add_column.ts', `export async function up(knex) { await knex.schema.alterTable('gizmos', (t) => { t.integer('stock').nullable(); }); }\nexport async function down(knex) { await knex.schema.alterTable('gizmos', (t) => { t.dropColumn('stock'); }); }\n`);
    const up = await s.run();
    expect(up.code, up.stderr).to.equal(0);
    // Knex drops a SQLite column by rebuilding the table, which takes its triggers along: caught.
    const expected = d.pick({ sqlite: { code: 1, triggers: 0 }, postgres: { code: 0, triggers: 1 }, mysql: { code: 0, triggers: 1 } });
    const down = await s.run(['rollback']);
    expect(down.code, down.stderr).to.equal(expected.code);
    expect(await listVersionTriggers(s.db)).to.have.length(expected.triggers);
  });
});
