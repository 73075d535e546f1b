import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { addVersionColumn, MigrationLoadError, TypeScriptMigrationSource, UsageError } from '../lib';
import { checksumOf } from '../lib/migrations/checksums';
import { REPO_ROOT } from './migrate-fixtures';
import { RUN_DB } from './support/dialects';

// No database here: how migration files are found, transpiled and loaded.
describe('TypeScriptMigrationSource', () => {
  const dirs: string[] = [];
  function folder(root: string, files: Record<string, string>): TypeScriptMigrationSource {
    const dir = fs.mkdtempSync(path.join(root, `${RUN_DB}-source-`));
    dirs.push(dir);
    for (const [name, source] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), source);
    return new TypeScriptMigrationSource(dir);
  }
  // Inside the repository, as a project's own migrations folder would be.
  const inRepo = (files: Record<string, string>): TypeScriptMigrationSource => {
    const root = path.join(REPO_ROOT, '.kc-tmp');
    fs.mkdirSync(root, { recursive: true });
    return folder(root, files);
  };
  const DOWN = 'export async function down() {}\n';

  after(() => {
    for (const dir of dirs) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists .ts, .mts, .cts, .js, .mjs and .cjs files by name, skipping declarations, hidden and other files', async () => {
    const names = ['b.ts', 'a.js', 'c.cjs', 'd.mjs', 'e.mts', 'f.cts', 'g.d.ts', '.h.ts', 'README.md', 'i.json'];
    const source = inRepo(Object.fromEntries(names.map((n) => [n, ''])));
    const listed = (await source.getMigrations()).map((m) => source.getMigrationName(m));
    expect(listed).to.deep.equal(['a.js', 'b.ts', 'c.cjs', 'd.mjs', 'e.mts', 'f.cts']);
  });

  it('transpiles TypeScript (types, enums) and resolves knex-concurrency by package self-reference', async () => {
    const source = inRepo({
      '001.ts': `import { addVersionColumn } from 'knex-concurrency';
enum Size { Small = 1, Large = 2 }
const size: Size = Size.Large;
export const helper = addVersionColumn;
export const value: number = size * 10;
export async function up(): Promise<void> {}
${DOWN}`,
    });
    const [file] = await source.getMigrations();
    const loaded = (await source.getMigration(file)) as unknown as { helper: unknown; value: number };
    expect(loaded.value).to.equal(20);
    expect(loaded.helper).to.equal(addVersionColumn);
    // Node itself resolves the name there, through package.json "exports".
    expect(createRequire(file.path).resolve('knex-concurrency')).to.equal(path.join(REPO_ROOT, 'dist', 'lib', 'index.js'));
  });

  it('resolves knex-concurrency for a migrations folder outside any project that installs it', async () => {
    const source = folder(os.tmpdir(), { '001.ts': `import { addVersionColumn } from 'knex-concurrency';\nexport const helper = addVersionColumn;\nexport async function up() {}\n${DOWN}` });
    const [file] = await source.getMigrations();
    expect(() => createRequire(file.path).resolve('knex-concurrency'), 'Node alone cannot resolve it there').to.throw(/Cannot find module/);
    expect(((await source.getMigration(file)) as unknown as { helper: unknown }).helper).to.equal(addVersionColumn);
  });

  it('passes config.transaction through to Knex', async () => {
    const source = inRepo({ '001.ts': `export const config = { transaction: false };\nexport async function up() {}\n${DOWN}` });
    const [file] = await source.getMigrations();
    expect(((await source.getMigration(file)) as { config?: unknown }).config).to.deep.equal({ transaction: false });
  });

  it('reports a syntax error with the file, line and column, and a missing down() or a throwing module by name', async () => {
    const source = inRepo({
      '001_syntax.ts': 'export async function up() {\n  const x = ;\n}\n',
      '002_no_down.ts': 'export async function up() {}\n',
      '003_throws.js': "throw new Error('top-level failure');\n",
    });
    const [syntax, noDown, throws] = await source.getMigrations();
    const errors = await Promise.all([syntax, noDown, throws].map((f) => source.getMigration(f).then(() => undefined, (e: Error) => e)));
    for (const err of errors) expect(err).to.be.instanceOf(MigrationLoadError);
    expect(errors[0]!.message).to.match(/^cannot load migration 001_syntax\.ts: Expression expected\. \(line 2, column 13\)$/);
    expect(errors[1]!.message).to.contain('cannot load migration 002_no_down.ts: a migration must export two functions');
    expect(errors[2]!.message).to.equal('cannot load migration 003_throws.js: top-level failure');
  });

  it('checksums ignore line-ending style but not content', () => {
    expect(checksumOf('a\nb\n')).to.equal(checksumOf('a\r\nb\r\n'));
    expect(checksumOf('a\nb\n')).not.to.equal(checksumOf('a\nb \n'));
  });

  it('a missing folder is a usage error that says what to do', async () => {
    const err = await new TypeScriptMigrationSource(path.join(os.tmpdir(), `${RUN_DB}-no-such-dir`)).getMigrations().then(() => undefined, (e: Error) => e);
    expect(err).to.be.instanceOf(UsageError);
    expect(err!.message).to.match(/the migrations directory .*no-such-dir does not exist; create it .* or pass --dir/);
  });
});
