import * as path from 'node:path';
import { expect } from 'chai';
import { migrate, TypeScriptMigrationSource } from '../lib';
import { CliResult, createTableMigration, MigrateScenario, waitForFile } from './migrate-fixtures';
import { forEachDialect } from './support/for-each-dialect';

/**
 * Creates `crash_t` (idempotently, so that a re-run after a half-applied
 * crash succeeds), then, when KC_HANG_SIGNAL names a file, writes it and
 * hangs: the test kills the process there.
 */
function hangingMigration(options: { transaction: boolean }): string {
  return `import * as fs from 'node:fs';
import type { Knex } from 'knex';
${options.transaction ? '' : 'export const config = { transaction: false };'}
export async function up(knex: Knex): Promise<void> {
  if (!(await knex.schema.hasTable('crash_t'))) await knex.schema.createTable('crash_t', (t) => { t.increments('id'); });
  const signal = process.env.KC_HANG_SIGNAL;
  if (signal) {
    fs.writeFileSync(signal, String(process.pid));
    await new Promise((resolve) => setTimeout(resolve, 60_000));
  }
}
export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('crash_t');
}
`;
}

forEachDialect('bin/migrate after kill -9', (d) => {
  let s: MigrateScenario;
  beforeEach(async () => {
    s = await new MigrateScenario(d, 'crash').setUp();
  });
  afterEach(async () => {
    await s.tearDown();
  });

  /** Starts a run that hangs inside the hanging migration; resolves once it is there. */
  async function startHanging(): Promise<{ kill(): Promise<CliResult> }> {
    const signal = path.join(s.dir, `hang-${Date.now()}.signal`);
    const { child, done } = s.start([], { KC_HANG_SIGNAL: signal });
    await Promise.race([waitForFile(signal), done.then((r) => Promise.reject(new Error(`the run ended early:\n${r.stdout}${r.stderr}`)))]);
    return {
      kill: async () => {
        child.kill('SIGKILL');
        return done;
      },
    };
  }

  async function knexLockRows(): Promise<number[]> {
    return (await s.db.knex('knex_migrations_lock').select('is_locked')).map((r: { is_locked: unknown }) => Number(r.is_locked));
  }

  it('a run killed inside a migration does not wedge the next one; where DDL is not transactional, the next run names the migration that may be half-applied', async () => {
    const expected = d.pick({
      sqlite: { crashTable: false, recorded: [] as string[], warned: false },
      postgres: { crashTable: false, recorded: [] as string[], warned: false },
      mysql: { crashTable: true, recorded: ['001_create_widgets.ts'], warned: true },
    });
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    s.write('002_hang.ts', hangingMigration({ transaction: true }));

    const killed = await (await startHanging()).kill();
    expect(killed.code).to.equal(null);
    expect(await s.hasTable('crash_t')).to.equal(expected.crashTable);
    expect(await s.recorded()).to.deep.equal(expected.recorded);

    const next = await s.run(['--lock-timeout', '10']);
    expect(next.code, next.stderr).to.equal(0);
    expect(next.stderr.includes('interrupted: applying 002_hang.ts'), next.stderr).to.equal(expected.warned);
    expect(await s.recorded()).to.deep.equal(['001_create_widgets.ts', '002_hang.ts']);
    expect(await knexLockRows()).to.deep.equal([0]);
    const status = await s.run(['status']);
    expect(status.code, status.stdout).to.equal(0);
  });

  it("a run killed inside a transaction: false migration leaves Knex's lock set; the next run repairs it and names the migration", async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    s.write('002_hang.ts', hangingMigration({ transaction: false }));

    await (await startHanging()).kill();
    expect(await knexLockRows(), "Knex's own lock row stays set").to.deep.equal([1]);
    const knexError = await s.db.knex.migrate.latest({ migrationSource: new TypeScriptMigrationSource(s.dir) }).then(() => undefined, (err: Error) => err);
    expect(knexError?.message, 'plain Knex is wedged').to.contain('Migration table is already locked');

    const next = await s.run(['--lock-timeout', '10']);
    expect(next.code, next.stderr).to.equal(0);
    expect(next.stderr).to.contain("Knex's migration lock (knex_migrations_lock) was left set");
    expect(next.stderr).to.contain('interrupted: applying 002_hang.ts');
    expect(await s.recorded()).to.deep.equal(['001_create_widgets.ts', '002_hang.ts']);
    expect(await knexLockRows()).to.deep.equal([0]);
  });

  it('while a run holds the lock, unlock and a run with a short --lock-timeout exit 4 naming the holder; killing the holder frees the lock', async () => {
    const holder = d.pick({ sqlite: /another process \(it holds .*-migrate-lock\)/, postgres: /PostgreSQL server process \d+/, mysql: /MySQL connection \d+/ });
    s.write('001_hang.ts', hangingMigration({ transaction: true }));
    const hanging = await startHanging();

    const unlock = await s.run(['unlock']);
    expect(unlock.code, unlock.stderr).to.equal(4);
    expect(unlock.stderr).to.contain('another migration run holds the migration lock');
    expect(unlock.stderr).to.match(holder);

    // status does not wait, and does not mistake the running migration for an interrupted one.
    const status = await s.run(['status']);
    expect(status.code, status.stdout).to.equal(0);
    expect(status.stdout).to.match(new RegExp(`${d.pick({ sqlite: 'pending', postgres: 'pending', mysql: 'running' })}\\s+001_hang\\.ts`));
    expect(status.stdout).to.match(/A migration run is in progress \(.+\)\./);

    const impatient = await s.run(['--lock-timeout', '1']);
    expect(impatient.code, impatient.stderr).to.equal(4);
    expect(impatient.stderr).to.match(/Waiting for the migration lock, held by/);
    expect(impatient.stderr).to.contain('did not release it within 1 s');

    await hanging.kill();
    const next = await s.run(['--lock-timeout', '10']);
    expect(next.code, next.stderr).to.equal(0);
    expect(await s.recorded()).to.deep.equal(['001_hang.ts']);
  });

  it("unlock resets Knex's lock rows (set, or duplicated by racing first runs) and clears interrupted-migration warnings", async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    await migrate(s.db, { directory: s.dir });
    await s.db.knex('knex_migrations_lock').insert({ is_locked: 1 });
    await s.db.knex('knex_migrations_in_progress').insert({ name: '002_gone.ts', direction: 'up', started_at: new Date(), runner: 'pid 1 on elsewhere' });
    expect((await s.run(['status'])).stdout).to.contain('interrupted: applying 002_gone.ts');

    const result = await s.run(['unlock']);
    expect(result.code, result.stderr).to.equal(0);
    expect(result.stdout).to.contain("Reset Knex's migration lock row.");
    expect(result.stdout).to.contain('Cleared the interrupted-migration warning for 002_gone.ts.');
    expect(await knexLockRows()).to.deep.equal([0]);
    expect(await s.db.knex('knex_migrations_in_progress').select('name')).to.deep.equal([]);
    const status = await s.run(['status']);
    expect(status.code, status.stdout).to.equal(0);
  });
});
