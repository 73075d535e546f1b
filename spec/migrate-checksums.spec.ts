import { expect } from 'chai';
import { migrate, Migrator, TypeScriptMigrationSource } from '../lib';
import { createTableMigration, MigrateScenario } from './migrate-fixtures';
import { forEachDialect } from './support/for-each-dialect';

forEachDialect('bin/migrate checksums', (d) => {
  let s: MigrateScenario;
  beforeEach(async () => {
    s = await new MigrateScenario(d, 'sums').setUp();
  });
  afterEach(async () => {
    await s.tearDown();
  });

  it('refuses to run when an applied file was edited, until the edit is accepted', async () => {
    const original = createTableMigration('widgets');
    s.write('001_create_widgets.ts', original);
    await migrate(s.db, { directory: s.dir });
    s.write('001_create_widgets.ts', `// a comment added later\n${original}`);
    s.write('002_create_gadgets.ts', createTableMigration('gadgets'));

    const refused = await s.run();
    expect(refused.code).to.equal(3);
    expect(refused.stderr).to.contain('checksum mismatch: 001_create_widgets.ts');
    expect(refused.stderr).to.contain('migrate accept <file>');
    expect(await s.hasTable('gadgets'), 'nothing runs after a mismatch').to.equal(false);
    expect(await s.recorded()).to.deep.equal(['001_create_widgets.ts']);

    const status = await s.run(['status']);
    expect(status.code).to.equal(3);
    expect(status.stdout).to.match(/edited\s+1\s+\S+ \S+\s+001_create_widgets\.ts/);
    expect(status.stdout).to.contain('checksum mismatch: 001_create_widgets.ts');
    expect(status.stdout).to.match(/pending\s+002_create_gadgets\.ts/);

    const rollback = await s.run(['rollback']);
    expect(rollback.code, 'rollback would run the edited down()').to.equal(3);
    expect(await s.hasTable('widgets')).to.equal(true);

    const accepted = await s.run(['accept', `${s.dir}/001_create_widgets.ts`]);
    expect(accepted.code, accepted.stderr).to.equal(0);
    expect(accepted.stdout).to.contain('accepted the new checksum of 001_create_widgets.ts');

    const applied = await s.run();
    expect(applied.code, applied.stderr).to.equal(0);
    expect(await s.recorded()).to.deep.equal(['001_create_widgets.ts', '002_create_gadgets.ts']);
    expect((await s.run(['status'])).code).to.equal(0);
  });

  it('accept refuses a file that is not applied', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    const result = await s.run(['accept', '001_create_widgets.ts']);
    expect(result.code).to.equal(2);
    expect(result.stderr).to.contain('001_create_widgets.ts is not applied');
  });

  it('status reports a missing applied file (exit 3) and latest refuses to run', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    s.write('002_create_gadgets.ts', createTableMigration('gadgets'));
    await migrate(s.db, { directory: s.dir });
    s.remove('002_create_gadgets.ts');
    s.write('003_create_things.ts', createTableMigration('things'));

    const status = await s.run(['status']);
    expect(status.code).to.equal(3);
    expect(status.stdout).to.match(/missing\s+1\s+\S+ \S+\s+002_create_gadgets\.ts/);
    expect(status.stdout).to.contain('missing migration file: 002_create_gadgets.ts');

    const refused = await s.run();
    expect(refused.code).to.equal(3);
    expect(refused.stderr).to.contain('missing migration file: 002_create_gadgets.ts');
    expect(await s.hasTable('things')).to.equal(false);
  });

  it('records checksums of migrations that plain Knex applied, then guards them', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    await s.db.knex.migrate.latest({ migrationSource: new TypeScriptMigrationSource(s.dir) });

    const adopted = await s.run();
    expect(adopted.code, adopted.stderr).to.equal(0);
    expect(adopted.stderr).to.contain('recorded checksums of 1 migration(s) applied before checksums were kept: 001_create_widgets.ts');

    s.write('001_create_widgets.ts', createTableMigration('widgets', '// edited'));
    const status = await new Migrator(s.db, { directory: s.dir }).status();
    expect(status.problems).to.deep.equal(['checksum mismatch: 001_create_widgets.ts']);
  });
});
