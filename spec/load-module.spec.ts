import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect } from 'chai';
import { addVersionColumn, Model, UsageError } from '../lib';
import { loadModels } from '../lib/cli/load-models';
import { TypeScriptMigrationSource } from '../lib/migrations/typescript-migration-source';
import { REPO_ROOT } from './migrate-fixtures';
import { RUN_DB } from './support/dialects';

const MODEL = (name: string): string => `import { AutoField, AutoIncVersionField, CharField, Model } from 'knex-concurrency';
export class ${name} extends Model {
  static table = '${name.toLowerCase()}s';
  static fields = { id: new AutoField(), name: new CharField({ maxLength: 20 }), version: new AutoIncVersionField() };
}
`;

// No database here: bin/migrate's one loader, which migrations and --models share.
describe('loadModule: one loader for migrations and --models', () => {
  let dir: string;
  beforeEach(() => {
    const root = path.join(REPO_ROOT, '.kc-tmp');
    fs.mkdirSync(root, { recursive: true });
    dir = fs.mkdtempSync(path.join(root, `${RUN_DB}-loader-`));
  });
  afterEach(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });
  const write = (name: string, source: string): string => {
    fs.writeFileSync(path.join(dir, name), source);
    return name;
  };

  it('--models takes a .mts module, and a .cts one, like a migration', async () => {
    write('models.mts', MODEL('Widget'));
    write('models.cts', MODEL('Gadget'));
    const [widget] = await loadModels('models.mts', dir);
    const [gadget] = await loadModels('models.cts', dir);
    expect(widget!.name).to.equal('Widget');
    expect(gadget!.name).to.equal('Gadget');
    expect(widget!.prototype).to.be.instanceOf(Model);
  });

  it('a migration imports a TypeScript sibling NodeNext style, as a models module does', async () => {
    write('helpers.ts', "import { addVersionColumn } from 'knex-concurrency';\nexport const versioned = addVersionColumn;\nexport const answer: number = 42;\n");
    write('001_x.ts', "import { answer, versioned } from './helpers.js';\nexport { answer, versioned };\nexport async function up() {}\nexport async function down() {}\n");
    const source = new TypeScriptMigrationSource(dir);
    const [migration] = (await source.getMigrations()).filter((m) => m.name === '001_x.ts');
    const loaded = (await source.getMigration(migration!)) as unknown as { answer: number; versioned: unknown };
    expect(loaded.answer).to.equal(42);
    expect(loaded.versioned).to.equal(addVersionColumn);
  });

  it('a .mts migration runs as a module like a .ts one (its import/export are compiled too)', async () => {
    write('001_x.mts', "import { addVersionColumn } from 'knex-concurrency';\nexport const versioned = addVersionColumn;\nexport async function up() {}\nexport async function down() {}\n");
    const source = new TypeScriptMigrationSource(dir);
    const [migration] = await source.getMigrations();
    expect(((await source.getMigration(migration!)) as unknown as { versioned: unknown }).versioned).to.equal(addVersionColumn);
  });

  it('each load reads the file afresh: an edited models module is not served from a cache', async () => {
    write('models.ts', MODEL('First'));
    expect((await loadModels('models.ts', dir)).map((m) => m.name)).to.deep.equal(['First']);
    write('models.ts', MODEL('Second'));
    expect((await loadModels('models.ts', dir)).map((m) => m.name)).to.deep.equal(['Second']);
  });

  it('a syntax error in --models is a usage error with its line and column; a module that throws fails with its own error', async () => {
    write('broken.ts', 'export const x = ;\n');
    write('throws.js', "throw new RangeError('top-level failure');\n");
    const syntax = await loadModels('broken.ts', dir).then(() => undefined, (e: unknown) => e);
    expect(syntax).to.be.instanceOf(UsageError);
    expect((syntax as Error).message).to.equal('--models broken.ts: Expression expected. (line 1, column 18)');
    const thrown = await loadModels('throws.js', dir).then(() => undefined, (e: unknown) => e);
    expect(thrown).to.be.instanceOf(RangeError);
    expect((thrown as Error).message).to.equal('top-level failure');
  });
});
