import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { migrate, Migrator } from '../lib';
import { createTableMigration, MigrateScenario, REPO_ROOT, runCli } from './migrate-fixtures';
import { forEachDialect } from './support/for-each-dialect';

// JavaScript in both module styles, next to TypeScript: none needs set-up.
const ESM_JS = `export async function up(knex) { await knex.schema.createTable('gadgets', (t) => { t.increments('id'); }); }
export async function down(knex) { await knex.schema.dropTable('gadgets'); }
`;
const CJS_JS = `exports.up = async (knex) => { await knex('widgets').insert({ version: 7 }); };
exports.down = async (knex) => { await knex('widgets').where({ version: 7 }).delete(); };
`;

forEachDialect('bin/migrate', (d) => {
  let s: MigrateScenario;
  beforeEach(async () => {
    s = await new MigrateScenario(d, 'cli').setUp();
  });
  afterEach(async () => {
    await s.tearDown();
  });

  it('applies TypeScript and JavaScript migrations as one batch, with timings; a second run is a no-op', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    s.write('002_create_gadgets.js', ESM_JS);
    s.write('003_seed_widget.cjs', CJS_JS);
    s.write('types.d.ts', 'export type Unused = number;\n');

    const first = await s.run();
    expect(first.code, first.stderr).to.equal(0);
    for (const name of ['001_create_widgets.ts', '002_create_gadgets.js', '003_seed_widget.cjs']) {
      expect(first.stdout).to.match(new RegExp(`up\\s+${name.replace(/\./g, '\\.')}\\s+\\(\\d+ ms\\)`));
    }
    expect(first.stdout).to.contain('Batch 1 applied: 3 migrations');
    const history = await s.db.knex('knex_migrations').orderBy('id').select('name', 'batch');
    expect(history.map((h: { name: string; batch: number }) => [h.name, Number(h.batch)])).to.deep.equal([
      ['001_create_widgets.ts', 1],
      ['002_create_gadgets.js', 1],
      ['003_seed_widget.cjs', 1],
    ]);
    expect(Object.keys(await s.db.knex('widgets').columnInfo())).to.have.members(['id', 'version']);
    expect(await s.db.knex('widgets').select('version')).to.have.length(1);

    const again = await s.run(['latest']);
    expect(again.code, again.stderr).to.equal(0);
    expect(again.stdout).to.contain('Already up to date');
    expect(await s.recorded()).to.have.length(3);
    expect(await s.db.knex('widgets').select('version')).to.have.length(1);
  });

  it('status marks each migration applied or pending, and exits 0', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    await migrate(s.db, { directory: s.dir });
    s.write('002_create_gadgets.js', ESM_JS);

    const status = await s.run(['status']);
    expect(status.code, status.stderr).to.equal(0);
    expect(status.stdout).to.match(/STATE\s+BATCH\s+APPLIED AT\s+MIGRATION/);
    expect(status.stdout).to.match(/applied\s+1\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\s+001_create_widgets\.ts/);
    expect(status.stdout).to.match(/pending\s+002_create_gadgets\.js/);
    expect(status.stdout).to.contain('1 applied, 1 pending.');
    expect(await s.hasTable('gadgets'), 'status applies nothing').to.equal(false);
  });

  it('rollback undoes the last batch only, and forgets its checksums', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    await migrate(s.db, { directory: s.dir });
    s.write('002_create_gadgets.js', ESM_JS);
    s.write('003_create_things.ts', createTableMigration('things'));
    await migrate(s.db, { directory: s.dir });

    const back = await s.run(['rollback']);
    expect(back.code, back.stderr).to.equal(0);
    expect(back.stdout).to.match(/down\s+003_create_things\.ts/);
    expect(back.stdout).to.contain('Batch 2 rolled back: 2 migrations');
    expect(await s.recorded()).to.deep.equal(['001_create_widgets.ts']);
    expect([await s.hasTable('widgets'), await s.hasTable('gadgets'), await s.hasTable('things')]).to.deep.equal([true, false, false]);
    const sums = await s.db.knex('knex_migrations_checksums').select('name');
    expect(sums.map((r: { name: string }) => r.name)).to.deep.equal(['001_create_widgets.ts']);

    const status = await new Migrator(s.db, { directory: s.dir }).status();
    expect(status.migrations.map((m) => m.state)).to.deep.equal(['applied', 'pending', 'pending']);
  });

  it('make writes a TypeScript template with a version column, which applies as written', async () => {
    const made = await runCli(['make', 'create_widgets', '--dir', s.dir]);
    expect(made.code, made.stderr).to.equal(0);
    const files = fs.readdirSync(s.dir);
    expect(files).to.have.length(1);
    expect(files[0]).to.match(/^\d{14}_create_widgets\.ts$/);
    expect(made.stdout).to.contain(files[0]);
    expect(fs.readFileSync(path.join(s.dir, files[0]), 'utf8')).to.contain('addVersionColumn(t)');

    const applied = await s.run([], {});
    expect(applied.code, applied.stderr).to.equal(0);
    expect(Object.keys(await s.db.knex('widgets').columnInfo())).to.have.members(['id', 'version']);
  });

  it('reads the database from DATABASE_URL when --url is absent', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    const result = await runCli(['--dir', s.dir], { env: { DATABASE_URL: s.url } });
    expect(result.code, result.stderr).to.equal(0);
    expect(await s.recorded()).to.deep.equal(['001_create_widgets.ts']);
  });

  it("applies the project's own migrations from the repository root (the demo's schema)", async () => {
    const result = await runCli(['--url', s.url], { cwd: REPO_ROOT });
    expect(result.code, result.stderr).to.equal(0);
    const columns = await s.db.knex('products').columnInfo();
    expect(Object.keys(columns)).to.have.members(['id', 'name', 'description', 'version']);
    expect(columns.name.nullable).to.equal(false);
    expect(columns.description.nullable).to.equal(false);
    expect(columns.version.nullable).to.equal(false);
  });
});
