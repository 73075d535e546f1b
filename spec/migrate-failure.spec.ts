import { expect } from 'chai';
import { Migrator } from '../lib';
import { createTableMigration, MigrateScenario } from './migrate-fixtures';
import { forEachDialect } from './support/for-each-dialect';

const FAILING = `import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('half_done', (t) => { t.increments('id'); });
  throw new Error('boom: the second step went wrong');
}

export async function down(): Promise<void> {}
`;

const ROLLED_BACK = 'Nothing from this run was applied: its changes were rolled back.';

function assertTransaction(expected: boolean): string {
  return `if (Boolean(knex.isTransaction) !== ${expected}) throw new Error('expected isTransaction ${expected}, got ' + knex.isTransaction);`;
}

forEachDialect('bin/migrate failures', (d) => {
  let s: MigrateScenario;
  beforeEach(async () => {
    s = await new MigrateScenario(d, 'fail').setUp();
  });
  afterEach(async () => {
    await s.tearDown();
  });

  it('a failing migration exits 1 naming the file and the error; where DDL is transactional it leaves nothing, elsewhere it says what is partial', async () => {
    // PostgreSQL and SQLite roll the whole batch back; MySQL commits each DDL statement as it runs.
    const expected = d.pick({
      sqlite: { tables: [false, false], recorded: [] as string[], partial: false, status: 0, kept: ROLLED_BACK },
      postgres: { tables: [false, false], recorded: [] as string[], partial: false, status: 0, kept: ROLLED_BACK },
      mysql: { tables: [true, true], recorded: ['001_create_widgets.ts'], partial: true, status: 3, kept: 'Already applied and recorded by this run: 001_create_widgets.ts.' },
    });
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    s.write('002_fails.ts', FAILING);

    const result = await s.run();
    expect(result.code).to.equal(1);
    expect(result.stderr).to.contain('migration 002_fails.ts failed (up): boom: the second step went wrong');
    expect([await s.hasTable('widgets'), await s.hasTable('half_done')]).to.deep.equal(expected.tables);
    expect(await s.recorded()).to.deep.equal(expected.recorded);
    expect(result.stderr.includes('The database may be partially migrated'), result.stderr).to.equal(expected.partial);
    expect(result.stderr).to.contain(expected.kept);
    expect(result.stdout).not.to.contain('Batch 1 applied');

    // The next status says whether the failed migration may be half-applied.
    const status = await s.run(['status']);
    expect(status.code, status.stdout).to.equal(expected.status);
    expect(status.stdout.includes('interrupted: applying 002_fails.ts'), status.stdout).to.equal(expected.partial);
    const states = (await new Migrator(s.db, { directory: s.dir }).status()).migrations.map((m) => m.state);
    expect(states).to.deep.equal(expected.partial ? ['applied', 'interrupted'] : ['pending', 'pending']);
  });

  it('a migration with config.transaction = false runs outside a transaction; the others in the batch keep theirs', async () => {
    // CREATE INDEX CONCURRENTLY fails inside a transaction on PostgreSQL.
    const createIndex = d.pick({
      sqlite: 'CREATE INDEX widgets_version ON widgets (version)',
      postgres: 'CREATE INDEX CONCURRENTLY widgets_version ON widgets (version)',
      mysql: 'CREATE INDEX widgets_version ON widgets (version)',
    });
    s.write('001_create_widgets.ts', createTableMigration('widgets', assertTransaction(true)));
    s.write(
      '002_index_widgets.ts',
      `import type { Knex } from 'knex';
export const config = { transaction: false };
export async function up(knex: Knex): Promise<void> {
  ${assertTransaction(false)}
  await knex.raw(${JSON.stringify(createIndex)});
}
export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('widgets', (t) => t.dropIndex(['version'], 'widgets_version'));
}
`,
    );
    s.write('003_create_gadgets.ts', createTableMigration('gadgets', assertTransaction(true)));

    const result = await s.run();
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain('Batch 1 applied: 3 migrations');
    expect(await s.recorded()).to.deep.equal(['001_create_widgets.ts', '002_index_widgets.ts', '003_create_gadgets.ts']);
    const indexes = await d.pick({
      sqlite: () => s.db.knex.raw("SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'widgets_version'"),
      postgres: async () => (await s.db.knex.raw("SELECT indexname AS name FROM pg_indexes WHERE indexname = 'widgets_version'")).rows,
      mysql: async () => (await s.db.knex.raw("SHOW INDEX FROM widgets WHERE Key_name = 'widgets_version'"))[0],
    })();
    expect(indexes).to.have.length(1);
  });

  it('a migration that fails to load (syntax error) stops the run before anything is applied', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    s.write('002_broken.ts', 'export async function up(knex) { await knex.schema.createTable(\n');

    const result = await s.run();
    expect(result.code).to.equal(1);
    expect(result.stderr).to.match(/cannot load migration 002_broken\.ts: .+ \(line \d+, column \d+\)/);
    expect(await s.hasTable('widgets')).to.equal(false);
    expect(await s.recorded()).to.deep.equal([]);
  });
});
