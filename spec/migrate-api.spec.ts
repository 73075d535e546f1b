import { expect } from 'chai';
import { connect, migrate, MigrationEvent, MigrationFailedError, MigrationIntegrityError, MigrationLockBusyError, Migrator } from '../lib';
import { createTableMigration, MigrateScenario, REPO_ROOT } from './migrate-fixtures';
import { forEachDialect } from './support/for-each-dialect';

// The programmatic API, in process: what bin/migrate is built on.
forEachDialect('Migrator and migrate()', (d) => {
  let s: MigrateScenario;
  beforeEach(async () => {
    s = await new MigrateScenario(d, 'api').setUp();
  });
  afterEach(async () => {
    await s.tearDown();
  });

  it('migrate(url) connects, applies a batch and reports each migration as it runs', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    s.write('002_create_gadgets.ts', createTableMigration('gadgets'));
    const events: MigrationEvent[] = [];
    const run = await migrate(s.url, { directory: s.dir, onEvent: (e) => events.push(e) });
    expect(run.batch).to.equal(1);
    expect(run.migrations.map((m) => m.name)).to.deep.equal(['001_create_widgets.ts', '002_create_gadgets.ts']);
    expect(events.map((e) => `${e.type}:${'name' in e ? e.name : ''}`)).to.deep.equal([
      'start:001_create_widgets.ts',
      'done:001_create_widgets.ts',
      'start:002_create_gadgets.ts',
      'done:002_create_gadgets.ts',
    ]);
    expect((await migrate(s.db, { directory: s.dir })).batch).to.equal(null);
  });

  it('errors carry their data: the failed migration, what this run kept, whether it may be partial', async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    s.write('002_fails.ts', createTableMigration('gadgets', "throw new Error('nope');"));
    const failed = await migrate(s.db, { directory: s.dir }).then(() => undefined, (e: unknown) => e);
    expect(failed).to.be.instanceOf(MigrationFailedError);
    const f = failed as MigrationFailedError;
    expect([f.migration, f.direction, (f.cause as Error).message]).to.deep.equal(['002_fails.ts', 'up', 'nope']);
    expect({ applied: f.applied, partial: f.partial }).to.deep.equal(
      d.pick({
        sqlite: { applied: [], partial: false },
        postgres: { applied: [], partial: false },
        mysql: { applied: ['001_create_widgets.ts'], partial: true },
      }),
    );

    s.remove('002_fails.ts');
    await migrate(s.db, { directory: s.dir });
    s.write('001_create_widgets.ts', createTableMigration('widgets', '// edited'));
    const refused = await new Migrator(s.db, { directory: s.dir }).rollback().then(() => undefined, (e: unknown) => e);
    expect(refused).to.be.instanceOf(MigrationIntegrityError);
    expect((refused as MigrationIntegrityError).mismatched).to.deep.equal(['001_create_widgets.ts']);
  });

  it('the lock: a second holder waits (told who holds it) and gets it once released; with no wait it is refused', async () => {
    const first = s.db.adapter.migrationLock(s.db.knex, 'knex_migrations');
    const second = s.db.adapter.migrationLock(s.db.knex, 'knex_migrations');
    const holder = d.pick({ sqlite: /^another process/, postgres: /^PostgreSQL server process \d+/, mysql: /^MySQL connection \d+/ });
    try {
      expect(await first.acquire(0, () => expect.fail('the lock was free'))).to.equal(true);
      expect(await second.holder()).to.match(holder);
      expect(await second.acquire(0, () => {})).to.equal(false);
      const busy = await new Migrator(s.db, { directory: s.dir, lockTimeoutMs: 0 }).latest().then(() => undefined, (e: unknown) => e);
      expect(busy).to.be.instanceOf(MigrationLockBusyError);
      expect((busy as MigrationLockBusyError).holder).to.match(holder);

      const waits: (string | undefined)[] = [];
      const waiting = second.acquire(10_000, (h) => waits.push(h));
      const released = new Promise((resolve) => setTimeout(resolve, 200)).then(() => first.release());
      expect(await waiting).to.equal(true);
      await released;
      expect(waits).to.have.length(1);
      expect(waits[0]).to.match(holder);
      expect(await first.holder(), 'now the second holds it').to.match(holder);
    } finally {
      await first.release();
      await second.release();
    }
    const third = s.db.adapter.migrationLock(s.db.knex, 'knex_migrations');
    try {
      expect(await third.holder(), 'released').to.equal(undefined);
    } finally {
      await third.release();
    }
  });

  it("the Migrator takes its adapter's lock: one per migrations table where the database has named locks, one per file on SQLite", async () => {
    s.write('001_create_widgets.ts', createTableMigration('widgets'));
    const other = s.db.adapter.migrationLock(s.db.knex, 'other_migrations');
    try {
      expect(await other.acquire(0, () => expect.fail('the lock was free'))).to.equal(true);
      const sameTable = await new Migrator(s.db, { directory: s.dir, tableName: 'other_migrations', lockTimeoutMs: 0 }).latest().then(() => undefined, (e: unknown) => e);
      expect(sameTable, 'the same migrations table').to.be.instanceOf(MigrationLockBusyError);
      const otherTable = new Migrator(s.db, { directory: s.dir, lockTimeoutMs: 0 }).latest().then((run) => run.batch, (e: unknown) => e);
      const expected = d.pick<unknown>({ sqlite: MigrationLockBusyError, postgres: 1, mysql: 1 });
      if (typeof expected === 'number') expect(await otherTable, 'another migrations table').to.equal(expected);
      else expect(await otherTable, 'another migrations table, same SQLite file').to.be.instanceOf(expected as typeof MigrationLockBusyError);
    } finally {
      await other.release();
    }
  });
});

describe('migrate() on SQLite :memory:', () => {
  it('needs no lock and runs on the single connection', async () => {
    const db = connect('sqlite::memory:');
    try {
      const run = await migrate(db, { directory: `${REPO_ROOT}/migrations` });
      expect(run.migrations.map((m) => m.name)).to.deep.equal(['20240101000000_create_products.ts']);
      expect(Object.keys(await db.knex('products').columnInfo())).to.have.members(['id', 'name', 'description', 'version']);
      expect((await new Migrator(db, { directory: `${REPO_ROOT}/migrations` }).rollback()).batch).to.equal(1);
      expect(await db.knex.schema.hasTable('products')).to.equal(false);
    } finally {
      await db.close();
    }
  });
});
