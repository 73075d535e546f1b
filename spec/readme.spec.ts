import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { addVersionColumn } from '../lib';
import { sqliteUrl } from './support/dialects';
import { forEachDialect } from './support/for-each-dialect';
import { recreateTable } from './support/schema';

const root = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);

/** The first ```ts block after the "## Quickstart" heading of README.md. */
function readmeQuickstart(): string {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Quickstart'));
  const match = /```ts\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error('README.md has no quickstart code block');
  return match[1]!;
}

describe('README', () => {
  it('shows the quickstart exactly as examples/quickstart.mts has it', () => {
    expect(readmeQuickstart()).to.equal(fs.readFileSync(path.join(root, 'examples', 'quickstart.mts'), 'utf8'));
  });

  it('npm run demo: bin/migrate applies ./migrations to a fresh SQLite file, then the quickstart prints the conflict', async () => {
    const url = sqliteUrl('demo');
    const script = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.demo as string;
    const { stdout } = await run('sh', ['-c', script], { cwd: root, env: { ...process.env, DATABASE_URL: url }, timeout: 60_000 });
    expect(stdout).to.match(/up +\d+_create_products\.ts/);
    expect(stdout).to.match(/Product 1 was changed by someone else/);
  });
});

forEachDialect('README quickstart runs verbatim', (d) => {
  it('prints the conflict of user B and exits 0', async () => {
    await recreateTable(d.knex, 'products', (t) => {
      t.increments('id');
      t.string('name', 100).notNullable();
      t.text('description').notNullable();
      addVersionColumn(t);
    });
    const { stdout } = await run(process.execPath, [path.join(root, 'dist', 'examples', 'quickstart.mjs')], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: d.url },
      timeout: 20_000,
    });
    expect(stdout).to.match(/^Product \d+ was changed by someone else \(you held version (\d+), the database has (\d+)\).* \1 \2\n$/);
    const rows = await d.knex('products');
    expect(rows).to.have.length(1);
    expect(rows[0].name).to.equal('Product updated by User A');
  });
});
