import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';
import { addVersionColumn } from '../lib';
import { sqliteUrl } from './support/dialects';
import { forEachDialect } from './support/for-each-dialect';
import { recreateTable } from './support/schema';

const root = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);

/** The ```ts blocks of the README section whose `## ` heading contains `heading`, in order. */
function readmeBlocks(heading: string): string[] {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = readme.search(new RegExp(`^## .*${heading}`, 'm'));
  if (start < 0) throw new Error(`README.md has no section "${heading}"`);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** The first ```ts block of the README's quickstart step. */
function readmeQuickstart(): string {
  const [block] = readmeBlocks('Quickstart');
  if (block === undefined) throw new Error('README.md has no quickstart code block');
  return block;
}

/**
 * The README journey as one program: the quickstart (steps 2, 3 and 5), then
 * the blocks of "Handle it" and "Transactions", then the close. Compiled with
 * TypeScript as the reader would run it, into dist/ so that `knex-concurrency`
 * resolves to this package.
 */
function readmeJourneyProgram(): string {
  const quickstart = readmeQuickstart();
  const close = 'await db.close();\n';
  if (!quickstart.endsWith(close)) throw new Error('the quickstart no longer ends with db.close()');
  const source = [quickstart.slice(0, -close.length), ...readmeBlocks('Handle it'), ...readmeBlocks('Transactions'), close].join('\n');
  return ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
}

describe('README', () => {
  it('shows the quickstart exactly as examples/quickstart.mts has it', () => {
    expect(readmeQuickstart()).to.equal(fs.readFileSync(path.join(root, 'examples', 'quickstart.mts'), 'utf8'));
  });

  it('shows the table migration of step 4 exactly as migrations/ has it (the one npm run demo applies)', () => {
    const [migration] = readmeBlocks('Create its table');
    expect(migration).to.equal(fs.readFileSync(path.join(root, 'migrations', '20240101000000_create_products.ts'), 'utf8'));
  });

  it('is a ten-minute read: at most 260 lines, every docs/ page it links to exists', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    expect(readme.split('\n').length).to.be.at.most(260);
    const links = [...readme.matchAll(/\]\((docs\/[^)#]+)/g)].map((m) => m[1]!);
    expect(links).to.include.members(['docs/guarantees.md', 'docs/transactions.md', 'docs/migrations.md']);
    for (const link of links) expect(fs.existsSync(path.join(root, link)), link).to.equal(true);
  });

  it('npm run demo: bin/migrate applies ./migrations to a fresh SQLite file, then the quickstart prints the conflict', async () => {
    const url = sqliteUrl('demo');
    const script = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).scripts.demo as string;
    const { stdout } = await run('sh', ['-c', script], { cwd: root, env: { ...process.env, DATABASE_URL: url }, timeout: 60_000 });
    expect(stdout).to.match(/up +\d+_create_products\.ts/);
    expect(stdout).to.match(/Product 1 was changed by someone else/);
  });
});

forEachDialect('README journey (steps 2-7) runs verbatim', (d) => {
  it('shows the conflict, handles it three ways, and commits a transaction', async () => {
    await recreateTable(d.knex, 'products', (t) => {
      t.increments('id');
      t.string('name', 100).notNullable();
      t.text('description').notNullable();
      addVersionColumn(t);
    });
    await recreateTable(d.knex, 'audit', (t) => {
      t.increments('id');
      t.integer('product').notNullable();
    });
    const file = path.join(root, 'dist', 'examples', `readme-journey-${d.name}.mjs`);
    fs.writeFileSync(file, readmeJourneyProgram());
    try {
      const { stdout } = await run(process.execPath, [file], { cwd: root, env: { ...process.env, DATABASE_URL: d.url }, timeout: 20_000 });
      expect(stdout).to.match(/^Product \d+ was changed by someone else/);
    } finally {
      fs.rmSync(file, { force: true });
    }
    const [row] = await d.knex('products');
    expect(row.name).to.equal('Product updated by User B');
    expect(row.description).to.equal('sold out');
    expect(await d.knex('audit')).to.have.length(1);
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
