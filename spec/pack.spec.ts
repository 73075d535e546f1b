import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import * as ts from 'typescript';
import { RUN_DB } from './support/dialects';
import { forEachDialect } from './support/for-each-dialect';

// The first hour of a new user, from the packed tarball in a fresh app, not
// from the repository: `npm pack`, install, then the README's steps in ESM,
// CommonJS and TypeScript. The install is npm's, minus the registry: the
// tarball is unpacked into node_modules, its bins linked as npm links them,
// and its dependencies linked to this repository's copies (already built:
// compiling sqlite3 again would take minutes).

const ROOT = path.resolve(__dirname, '..', '..');
const run = promisify(execFile);
const PKG = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
};

/** The ```ts blocks of the README section whose heading contains `heading`. */
function readmeBlocks(heading: string): string[] {
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const start = readme.search(new RegExp(`^## .*${heading}`, 'm'));
  const end = readme.indexOf('\n## ', start + 1);
  return [...readme.slice(start, end < 0 ? undefined : end).matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

interface App {
  readonly dir: string;
  readonly packageDir: string;
  readonly files: readonly string[];
}

async function packAndInstall(): Promise<App> {
  // Outside the repository, so nothing resolves from its node_modules by walking up.
  const base = path.join(os.tmpdir(), `kc-pack-${RUN_DB}`);
  fs.rmSync(base, { recursive: true, force: true });
  fs.mkdirSync(base, { recursive: true });
  // --ignore-scripts: `prepare` would build again; npm test has just built.
  const { stdout } = await run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', base], { cwd: ROOT, timeout: 120_000 });
  const [packed] = JSON.parse(stdout) as { filename: string; files: { path: string }[] }[];
  const dir = path.join(base, 'app');
  const packageDir = path.join(dir, 'node_modules', PKG.name);
  fs.mkdirSync(packageDir, { recursive: true });
  await run('tar', ['xzf', path.join(base, packed!.filename), '-C', packageDir, '--strip-components=1']);
  for (const dep of [...Object.keys(PKG.dependencies), ...Object.keys(PKG.peerDependencies), '@types/node']) {
    fs.mkdirSync(path.dirname(path.join(dir, 'node_modules', dep)), { recursive: true });
    fs.symlinkSync(path.join(ROOT, 'node_modules', dep), path.join(dir, 'node_modules', dep), 'dir');
  }
  fs.mkdirSync(path.join(dir, 'node_modules', '.bin'));
  for (const [name, file] of Object.entries(PKG.bin)) fs.symlinkSync(path.join('..', PKG.name, file), path.join(dir, 'node_modules', '.bin', name));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'first-hour', private: true, dependencies: { [PKG.name]: `file:../${packed!.filename}` } }, null, 2));
  return { dir, packageDir, files: packed!.files.map((f) => f.path) };
}

describe('the package as npm packs it', function () {
  this.timeout(180_000);
  let app: App;

  before(async () => {
    app = await packAndInstall();
  });

  after(() => {
    if (app !== undefined) fs.rmSync(path.dirname(app.dir), { recursive: true, force: true });
  });

  it('ships LICENSE, README, docs, both bin names, and the sources every source map points to', () => {
    expect(app.files).to.include.members(['LICENSE', 'README.md', 'docs/guarantees.md', 'bin/migrate', 'dist/lib/index.js', 'dist/lib/index.d.ts']);
    expect(Object.keys(PKG.bin)).to.include.members(['knex-concurrency', 'migrate']);
    expect(fs.readFileSync(path.join(app.packageDir, 'LICENSE'), 'utf8')).to.match(/^MIT License/);
    const maps = app.files.filter((f) => f.endsWith('.map'));
    expect(maps.length).to.be.greaterThan(10);
    for (const map of maps) {
      const { sources } = JSON.parse(fs.readFileSync(path.join(app.packageDir, map), 'utf8')) as { sources: string[] };
      for (const source of sources) expect(fs.existsSync(path.resolve(app.packageDir, path.dirname(map), source)), `${map} -> ${source}`).to.equal(true);
    }
    expect(app.files.filter((f) => f.startsWith('spec/') || f.startsWith('dist/spec/'))).to.deep.equal([]);
  });

  it('knex-concurrency --help names itself', async () => {
    const { stdout } = await run(path.join(app.dir, 'node_modules', '.bin', 'knex-concurrency'), ['--help'], { cwd: app.dir });
    expect(stdout).to.match(/^Usage: knex-concurrency/);
  });

  it('type-checks the README journey as a TypeScript (NodeNext, strict) app against the shipped declarations', () => {
    const file = path.join(app.dir, 'app.mts');
    fs.writeFileSync(file, [readmeBlocks('Quickstart')[0]!, ...readmeBlocks('Handle it'), ...readmeBlocks('Transactions')].join('\n'));
    const options: ts.CompilerOptions = { strict: true, noEmit: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, types: ['node'], skipLibCheck: true };
    const program = ts.createProgram({ rootNames: [file], options });
    const problems = ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
    expect(problems).to.deep.equal([]);
    // And against the package, not the repository's sources.
    expect(program.getSourceFiles().some((f) => f.fileName.startsWith(path.join(app.packageDir, 'dist', 'lib')))).to.equal(true);
  });

  it('names the package to install when a driver or typescript is missing (they are optional peer dependencies)', async () => {
    expect(Object.keys(PKG.dependencies)).to.deep.equal(['knex']);
    const unlinked = (dep: string): string => path.join(app.dir, 'node_modules', dep);
    for (const dep of ['mysql2', 'typescript']) fs.renameSync(unlinked(dep), `${unlinked(dep)}.away`);
    try {
      const { stdout } = await run(process.execPath, ['-e', "try { require('knex-concurrency').connect('mysql://root@127.0.0.1:3306/x') } catch (e) { console.log(e.name + ': ' + e.message) }"], { cwd: app.dir });
      expect(stdout).to.equal('UsageError: connect(): the MySQL/MariaDB driver is not installed; install it in your application: npm install mysql2\n');
      fs.mkdirSync(path.join(app.dir, 'ts-migrations'), { recursive: true });
      fs.writeFileSync(path.join(app.dir, 'ts-migrations', '001_x.ts'), 'export async function up() {}\nexport async function down() {}\n');
      const bin = path.join(app.dir, 'node_modules', '.bin', 'knex-concurrency');
      const failed = await run(bin, ['--url', 'sqlite::memory:', '--dir', 'ts-migrations'], { cwd: app.dir }).then(
        () => expect.fail('ran without typescript'),
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed.stderr).to.match(/needs the typescript package, which is not installed: npm install --save-dev typescript/);
      expect(failed.code).to.equal(2);
    } finally {
      for (const dep of ['mysql2', 'typescript']) fs.renameSync(`${unlinked(dep)}.away`, unlinked(dep));
    }
  });

  forEachDialect('the README journey in a fresh app', (d) => {
    const env = (): NodeJS.ProcessEnv => ({ ...process.env, DATABASE_URL: d.url });

    before(async () => {
      for (const t of ['knex_migrations', 'knex_migrations_lock', 'knex_migrations_checksums', 'knex_migrations_in_progress', 'products', 'audit']) {
        await d.knex.schema.dropTableIfExists(t);
      }
    });

    it('step 4: knex-concurrency make, the README migration, knex-concurrency: the table exists', async () => {
      const bin = path.join(app.dir, 'node_modules', '.bin', 'knex-concurrency');
      fs.rmSync(path.join(app.dir, 'migrations'), { recursive: true, force: true });
      const made = await run(bin, ['make', 'create_products'], { cwd: app.dir, env: env() });
      expect(made.stdout).to.match(/Created migrations\/\d+_create_products\.ts/);
      const [file] = fs.readdirSync(path.join(app.dir, 'migrations'));
      fs.writeFileSync(path.join(app.dir, 'migrations', file!), readmeBlocks('Create its table')[0]!);
      const applied = await run(bin, [], { cwd: app.dir, env: env() });
      expect(applied.stdout).to.match(/up +\d+_create_products\.ts/);
      await d.knex.schema.createTable('audit', (t) => {
        t.increments('id');
        t.integer('product').notNullable();
      });
    });

    it('steps 5-7 in ESM (the README as JavaScript): the conflict, handled, and a transaction', async () => {
      const source = [readmeBlocks('Quickstart')[0]!.replace(/await db\.close\(\);\n$/, ''), ...readmeBlocks('Handle it'), ...readmeBlocks('Transactions'), 'await db.close();\n'].join('\n');
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
      fs.writeFileSync(path.join(app.dir, 'app.mjs'), js);
      const { stdout } = await run(process.execPath, ['app.mjs'], { cwd: app.dir, env: env(), timeout: 30_000 });
      expect(stdout).to.match(/^Product \d+ was changed by someone else \(you held version \d+, the database has \d+\)/);
      const [row] = await d.knex('products').orderBy('id');
      expect(row.description).to.equal('sold out');
      expect(await d.knex('audit')).to.have.length(1);
    });

    it('in CommonJS with require()', async () => {
      fs.writeFileSync(
        path.join(app.dir, 'app.cjs'),
        `const { connect, Model, AutoField, CharField, TextField, IntegerVersionField, RecordModifiedError } = require('knex-concurrency');
class Product extends Model {}
Product.table = 'products';
Product.fields = { id: new AutoField(), name: new CharField({ maxLength: 100 }), description: new TextField({ default: '' }), version: new IntegerVersionField() };
(async () => {
  const db = connect(process.env.DATABASE_URL);
  Product.bind(db);
  const p = await Product.create({ name: 'cjs' });
  const a = await Product.get(p.id);
  const b = await Product.get(p.id);
  a.name = 'a';
  await a.save();
  b.name = 'b';
  await b.save().catch((err) => console.log(err instanceof RecordModifiedError ? 'conflict' : err));
  await db.close();
})();
`,
      );
      const { stdout } = await run(process.execPath, ['app.cjs'], { cwd: app.dir, env: env(), timeout: 30_000 });
      expect(stdout).to.equal('conflict\n');
    });
  });
});
