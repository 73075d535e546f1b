import { expect } from 'chai';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { AutoField, CharField, checkSchema, connect, IntegerVersionField, listVersionTriggers, Model, SchemaMismatchError } from '../lib';
import { runMigrateCli } from '../lib/cli/migrate-cli';
import { RUN_DB } from './support/dialects';
import { forEachDialect } from './support/for-each-dialect';

const ROOT = path.resolve(__dirname, '..', '..');
// Inside the package, so the models' `import ... from 'knex-concurrency'` resolves to this build.
const BASE = path.join(ROOT, '.kc-tmp', RUN_DB, 'models');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function migrate(argv: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const code = await runMigrateCli(argv, {}, { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) } });
  return { code, stdout, stderr };
}

/** The models of one step of the story, as a TypeScript module re-exported NodeNext style (`./x.js` for x.ts). */
function writeModels(dir: string, step: string, fields: { products: string; accounts?: string }, table: (name: string) => string): string {
  fs.writeFileSync(
    path.join(dir, `models-${step}.ts`),
    `import { Model, AutoField, CharField, FloatField, TextField, BooleanField, DateTimeField, JsonField, IntegerField, IntegerVersionField, TriggerVersionField } from 'knex-concurrency';
export class Product extends Model {
  static table = '${table('products')}';
  static fields = { ${fields.products} };
}
${fields.accounts === undefined ? '' : `export class Account extends Model {
  static table = '${table('accounts')}';
  static fields = { ${fields.accounts} };
}`}
`,
  );
  const index = path.join(dir, `index-${step}.ts`);
  fs.writeFileSync(index, `export * from './models-${step}.js';\n`);
  return index;
}

const PRODUCT_FIELDS = `id: new AutoField(), name: new CharField({ maxLength: 100 }), description: new TextField({ default: '' }),
    price: new FloatField({ default: 0 }), stock: new IntegerField({ default: 0 }), active: new BooleanField({ default: true }),
    placedAt: new DateTimeField({ column: 'placed_at', null: true }), tags: new JsonField({ default: () => [] }),
    version: new IntegerVersionField()`;
const ACCOUNT_FIELDS = `id: new AutoField(), balance: new IntegerField(), version: new TriggerVersionField()`;

forEachDialect('migrate make --models / check --models: tables from models', (d) => {
  let dir: string;
  let migrations: string;
  const table = (name: string): string => `mm_${name}`;
  const files = (): string[] => (fs.existsSync(migrations) ? fs.readdirSync(migrations).sort() : []);

  before(async () => {
    dir = path.join(BASE, d.name);
    migrations = path.join(dir, 'migrations');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    for (const t of ['knex_migrations', 'knex_migrations_lock', 'knex_migrations_checksums', 'knex_migrations_in_progress', table('products'), table('accounts')]) {
      await d.knex.schema.dropTableIfExists(t);
    }
  });

  it('check names every missing table and trigger with its fix; make writes the migration; latest --models applies and checks it; a second make writes nothing', async () => {
    const models = writeModels(dir, '1', { products: PRODUCT_FIELDS, accounts: ACCOUNT_FIELDS }, table);
    const url = ['--url', d.url];

    const before = await migrate(['check', '--models', models, ...url]);
    expect(before.code).to.equal(1);
    expect(before.stderr).to.include(`MISSING-TABLE: Product: table ${table('products')} does not exist`);
    expect(before.stderr).to.include(`addVersionColumn(t, 'version')`);
    expect(before.stderr).to.include(`TRIGGER: Account: the version trigger of ${table('accounts')}.version is missing; createVersionTrigger(knex, '${table('accounts')}', 'version')`);

    const made = await migrate(['make', 'init', '--models', models, '--dir', migrations, ...url]);
    expect(made.code, made.stderr).to.equal(0);
    expect(files()).to.have.length(1);
    const source = fs.readFileSync(path.join(migrations, files()[0]!), 'utf8');
    expect(source).to.include(`t.double('price').notNullable().defaultTo(0);`);
    expect(source).to.include(`t.datetime('placed_at', { precision: 3 }).nullable();`);
    expect(source).to.include(`t.jsonb('tags').notNullable();`);
    expect(source).to.include(`await createVersionTrigger(knex, '${table('accounts')}', 'version');`);

    const applied = await migrate(['latest', '--models', models, '--dir', migrations, ...url]);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(applied.stdout).to.match(/The database fits the models: 2 models checked/);
    expect((await listVersionTriggers(d.knex)).map((t) => t.table)).to.include(table('accounts'));

    const again = await migrate(['make', 'again', '--models', models, '--dir', migrations, ...url]);
    expect(again.code).to.equal(0);
    expect(again.stdout).to.match(/No changes/);
    expect(files()).to.have.length(1);

    // What the columns hold: a double, milliseconds, JSON, a version beyond 32 bits.
    await d.knex(table('products')).insert({ name: 'x', description: '', price: 0.1, stock: 1, active: true, placed_at: new Date(1234567890123), tags: '[1]', version: 1796036641464000 });
    const [row] = await d.knex(table('products'));
    expect(Number(row.price)).to.equal(0.1);
    expect(new Date(row.placed_at).getTime()).to.equal(1234567890123);
    expect(String(row.version)).to.equal('1796036641464000');
  });

  it('adds a new field\'s column live, and writes narrowing and drops only as commented steps; check names each with its fix', async () => {
    const url = ['--url', d.url];
    // A table made by hand with lossy columns, and a column no field uses.
    await d.knex.schema.alterTable(table('products'), (t) => {
      t.string('legacy', 10).nullable();
    });
    await d.knex.schema.dropTable(table('accounts'));
    await d.knex.schema.createTable(table('accounts'), (t) => {
      t.increments('id');
      t.float('balance').notNullable();
      t.integer('version').notNullable().defaultTo(0);
    });
    const models = writeModels(
      dir,
      '2',
      { products: `${PRODUCT_FIELDS}, sku: new CharField({ maxLength: 20, null: true })`, accounts: `id: new AutoField(), balance: new FloatField(), version: new IntegerVersionField()` },
      table,
    );
    const check = await migrate(['check', '--models', models, ...url]);
    expect(check.code).to.equal(1);
    expect(check.stderr).to.include(`MISSING-COLUMN: Product.sku: column ${table('products')}.sku does not exist`);
    expect(check.stderr).to.include(`t.string('sku', 20).nullable();`);
    // SQLite's INTEGER is always 8 bytes and its REAL always a double: nothing is too narrow there.
    const narrow = d.pick({ sqlite: false, postgres: true, mysql: true });
    const versionProblem = new RegExp(`LOSSY-COLUMN: Account\\.version: column ${table('accounts')}\\.version is \\S+, too narrow for versions.*addVersionColumn\\(t, 'version'\\)\\.alter\\(\\)`);
    expect(versionProblem.test(check.stderr), check.stderr).to.equal(narrow);
    expect(/LOSSY-COLUMN: Account\.balance: .*4-byte float.*t\.double\('balance'\)\.notNullable\(\)\.alter\(\)/.test(check.stderr), check.stderr).to.equal(narrow);

    const made = await migrate(['make', 'sku', '--models', models, '--dir', migrations, ...url]);
    expect(made.code, made.stderr).to.equal(0);
    expect(files()).to.have.length(2);
    const source = fs.readFileSync(path.join(migrations, files()[1]!), 'utf8');
    expect(source).to.match(/^    t\.string\('sku', 20\)\.nullable\(\);$/m);
    expect(/^  \/\/ await knex\.schema\.alterTable\('mm_accounts', \(t\) => \{ addVersionColumn\(t, 'version'\)\.alter\(\); \}\);$/m.test(source), source).to.equal(narrow);
    expect(source).to.match(/^  \/\/ await knex\.schema\.alterTable\('mm_products', \(t\) => \{ t\.dropColumn\('legacy'\); \}\);$/m);
    expect(source).not.to.match(/^\s*await knex\.schema\.alterTable\('mm_accounts'/m);
    expect(source).not.to.match(/^\s*[^/\s].*dropColumn\('legacy'\)/m); // in up(), the drop is a comment only

    const applied = await migrate(['latest', '--dir', migrations, ...url]);
    expect(applied.code, applied.stderr).to.equal(0);
    expect(Object.keys(await d.knex(table('products')).columnInfo())).to.include.members(['sku', 'legacy']);
    // The review items remain: make writes no file for them alone, and says so.
    const again = await migrate(['make', 'again', '--models', models, '--dir', migrations, ...url]);
    expect(again.code).to.equal(0);
    expect(files()).to.have.length(2);
    expect(again.stderr).to.match(/may lose data left for you \(no file written\)/);
  });

  it('checkSchema() from code: the same problems, as data', async () => {
    class Missing extends Model {
      static table = 'mm_nowhere';
      static fields = { id: new AutoField(), version: new IntegerVersionField() };
    }
    const problems = await checkSchema(d.db, [Missing]);
    expect(problems.map((p) => [p.kind, p.table])).to.deep.equal([['missing-table', 'mm_nowhere']]);
  });

  it('a table without its version column: create() and get() fail naming the fix (the check at first use; with it off, the driver error says it too)', async () => {
    await d.knex.schema.dropTableIfExists('mm_unversioned');
    await d.knex.schema.createTable('mm_unversioned', (t) => {
      t.increments('id');
      t.string('name', 10).notNullable();
    });
    await d.knex('mm_unversioned').insert({ name: 'old' });
    class Legacy extends Model {
      static table = 'mm_unversioned';
      static fields = { id: new AutoField(), name: new CharField({ maxLength: 10 }), version: new IntegerVersionField() };
    }
    const unchecked = connect(d.url, { schemaCheck: false });
    try {
      for (const [db, expected] of [
        [d.db, /Legacy.version: column mm_unversioned.version does not exist/],
        [unchecked, /the table has no column "version"/],
      ] as const) {
        Legacy.bind(db);
        for (const attempt of [() => Legacy.create({ name: 'x' }), () => Legacy.get(1)]) {
          const err = (await attempt().then(
            () => expect.fail('worked without a version column'),
            (e: Error) => e,
          )) as Error;
          expect(err.message).to.match(expected).and.include(`addVersionColumn(t, 'version')`);
          if (db === unchecked) expect(err.message).to.include('check --models');
          else expect(err).to.be.instanceOf(SchemaMismatchError);
        }
      }
    } finally {
      await unchecked.close();
    }
    Legacy.bind(d.db);
    const problems = await checkSchema(d.db, [Legacy]);
    expect(problems.map((p) => `${p.kind} ${p.column}`)).to.deep.equal(['missing-column version']);
    expect(problems[0]!.message).to.include(`addVersionColumn(t, 'version')`);
  });

  it('refuses make --models without a database, and check without --models', async () => {
    expect((await migrate(['make', 'x', '--models', 'm.ts'])).stderr).to.match(/make --models reads the database: pass --url/);
    expect((await migrate(['check', '--url', d.url])).stderr).to.match(/check needs --models <module>/);
  });
});
