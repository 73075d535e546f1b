import { expect } from 'chai';
import { migrate } from '../lib';
import { CliResult, MigrateScenario } from './migrate-fixtures';
import { forEachDialect } from './support/for-each-dialect';

const RUNNERS = 6;

/** A migration that leaves a trace of each time it runs, and takes a moment, to widen any race. */
function tracingMigration(name: string, options: { createTable?: boolean; transaction?: boolean } = {}): string {
  const { createTable = false, transaction = true } = options;
  return `import type { Knex } from 'knex';
${transaction ? '' : 'export const config = { transaction: false };'}

export async function up(knex: Knex): Promise<void> {
  ${createTable ? "await knex.schema.createTable('runs', (t) => { t.string('migration', 100); t.integer('pid'); });" : ''}
  await knex('runs').insert({ migration: '${name}', pid: process.pid });
  await new Promise((resolve) => setTimeout(resolve, 150));
}

export async function down(): Promise<void> {}
`;
}

function describeAll(results: readonly CliResult[]): string {
  return results.map((r, i) => `#${i} exit ${r.code}\n${r.stdout}${r.stderr}`).join('\n');
}

forEachDialect('bin/migrate with concurrent runners', (d) => {
  let s: MigrateScenario;
  beforeEach(async () => {
    s = await new MigrateScenario(d, 'conc').setUp();
  });
  afterEach(async () => {
    await s.tearDown();
  });

  async function runTogether(): Promise<CliResult[]> {
    const results = await Promise.all(Array.from({ length: RUNNERS }, () => s.run()));
    expect(results.map((r) => r.code), describeAll(results)).to.deep.equal(Array(RUNNERS).fill(0));
    return results;
  }

  async function expectOneKnexLockRow(): Promise<void> {
    const rows = await s.db.knex('knex_migrations_lock').select('is_locked');
    expect(rows.map((r: { is_locked: unknown }) => Number(r.is_locked))).to.deep.equal([0]);
  }

  it(`${RUNNERS} processes on a fresh database: each migration applied exactly once, every process exits 0`, async () => {
    s.write('001_runs.ts', tracingMigration('001', { createTable: true }));
    s.write('002_second.ts', tracingMigration('002'));
    s.write('003_third.ts', tracingMigration('003'));

    const results = await runTogether();
    const appliers = results.filter((r) => r.stdout.includes('Batch 1 applied: 3 migrations'));
    const idle = results.filter((r) => r.stdout.includes('Already up to date: no pending migration.'));
    expect([appliers.length, idle.length], describeAll(results)).to.deep.equal([1, RUNNERS - 1]);

    const runs = await s.db.knex('runs').select('migration', 'pid').orderBy('migration');
    expect(runs.map((r: { migration: string }) => r.migration)).to.deep.equal(['001', '002', '003']);
    expect(new Set(runs.map((r: { pid: number }) => r.pid)).size, 'one process applied the whole batch').to.equal(1);
    const history = await s.db.knex('knex_migrations').select('name', 'batch').orderBy('id');
    expect(history.map((h: { name: string; batch: number }) => `${h.name}@${h.batch}`)).to.deep.equal(['001_runs.ts@1', '002_second.ts@1', '003_third.ts@1']);
    await expectOneKnexLockRow();

    const later = await s.run();
    expect(later.code, later.stderr).to.equal(0);
    expect(later.stdout).to.contain('Already up to date');
    expect(later.stderr, 'a clean state needs no repair').to.equal('');
    const [{ n }] = await s.db.knex('runs').count({ n: '*' });
    expect(Number(n), 'the later run ran nothing').to.equal(3);
  });

  it(`${RUNNERS} processes with pending migrations: the pending ones applied exactly once, as one batch`, async () => {
    s.write('001_runs.ts', tracingMigration('001', { createTable: true }));
    await migrate(s.db, { directory: s.dir });
    s.write('002_second.ts', tracingMigration('002'));
    // Without a wrapping transaction Knex takes its lock row outside any
    // transaction, and a racing Knex runner fails instead of waiting.
    s.write('003_third.ts', tracingMigration('003', { transaction: false }));

    const results = await runTogether();
    expect(results.filter((r) => r.stdout.includes('Batch 2 applied: 2 migrations')), describeAll(results)).to.have.length(1);
    const runs = await s.db.knex('runs').select('migration').orderBy('migration');
    expect(runs.map((r: { migration: string }) => r.migration)).to.deep.equal(['001', '002', '003']);
    const history = await s.db.knex('knex_migrations').select('name', 'batch').orderBy('id');
    expect(history.map((h: { name: string; batch: number }) => `${h.name}@${h.batch}`)).to.deep.equal(['001_runs.ts@1', '002_second.ts@2', '003_third.ts@2']);
    await expectOneKnexLockRow();
    expect((await s.run()).stdout).to.contain('Already up to date');
  });
});
