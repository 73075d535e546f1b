import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runMigrateCli } from '../lib/cli/migrate-cli';
import { RUN_DB, sqliteDirectory } from './support/dialects';
import { forEachDialect } from './support/for-each-dialect';

const ROOT = path.resolve(__dirname, '..', '..');
const KNEX_TABLES = ['knex_migrations', 'knex_migrations_lock', 'knex_migrations_checksums', 'knex_migrations_in_progress'];

async function migrate(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runMigrateCli(argv, {}, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

// "status changes nothing": not even the database file, its lock file or Knex's tables.
forEachDialect('migrate status creates nothing', (d) => {
  const dir = path.join(ROOT, '.kc-tmp', RUN_DB, 'status-migrations');

  before(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'migrations', '20240101000000_create_products.ts'), path.join(dir, '20240101000000_create_products.ts'));
    for (const t of KNEX_TABLES) await d.knex.schema.dropTableIfExists(t);
  });

  it('reports every migration pending on a database never migrated, and leaves no table behind', async () => {
    const r = await migrate(['status', '--url', d.url, '--dir', dir]);
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/pending +20240101000000_create_products\.ts/);
    for (const t of KNEX_TABLES) expect(await d.knex.schema.hasTable(t), t).to.equal(false);
  });

  if (d.name === 'sqlite') {
    it('on a SQLite file that does not exist, creates neither the file, nor its folder, nor its lock file', async () => {
      const file = path.join(sqliteDirectory(), 'status-nowhere', 'never.db');
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
      for (const target of [path.join(sqliteDirectory(), 'never-created.db'), file]) {
        fs.rmSync(target, { force: true });
        const r = await migrate(['status', '--url', `sqlite:${target}`, '--dir', dir]);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.match(/0 applied, 1 pending/);
        expect(fs.existsSync(target), target).to.equal(false);
        expect(fs.existsSync(`${target}-migrate-lock`)).to.equal(false);
      }
      expect(fs.existsSync(path.dirname(file))).to.equal(false);
    });
  }
});
