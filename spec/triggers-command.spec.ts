import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { addVersionColumn, dropVersionTrigger, listVersionTriggers, versionTriggerName } from '../lib';
import { ExitCode } from '../lib/cli/exit-codes';
import { runMigrateCli } from '../lib/cli/migrate-cli';
import { runTriggersCommand } from '../lib/cli/triggers-command';
import { RUN_DB } from './support/dialects';
import { forEachDialect } from './support/for-each-dialect';
import { recreateTable } from './support/schema';

const ROOT = path.resolve(__dirname, '..', '..');
// Inside the package, so the module's `import ... from 'knex-concurrency'` resolves to this build.
const DIR = path.join(ROOT, '.kc-tmp', RUN_DB);
const MODELS = path.relative(ROOT, path.join(DIR, 'cli-models.ts'));
const COMMAND = path.join(ROOT, 'dist', 'lib', 'cli', 'triggers-command.js');

const MODELS_SOURCE = `
import { AutoField, AutoIncVersionField, CharField, Model, TriggerVersionField } from 'knex-concurrency';
import { nameField } from './cli-columns';

export class Account extends Model {
  static table = 'cli_accounts';
  static fields = { id: new AutoField(), name: nameField(), version: new TriggerVersionField() };
  declare id: number;
  declare readonly version: number;
}
export class Ledger extends Model {
  static table = 'cli_ledgers';
  static fields = { id: new AutoField(), name: nameField(), rev: new TriggerVersionField({ column: 'rev' }) };
}
export const more = { Plain: class Plain extends Model {
  static table = 'cli_plain';
  static fields = { id: new AutoField(), name: new CharField({ maxLength: 20 }), version: new AutoIncVersionField() };
} };
export const notAModel = 42;
`;
const COLUMNS_SOURCE = `
import { CharField } from 'knex-concurrency';
export const nameField = (): CharField => new CharField({ maxLength: 20 });
`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(argv: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env, cwd: ROOT };
  const code = await runTriggersCommand(argv, io);
  return { code, stdout, stderr };
}

/** The same command in a child node process, as bin/migrate will run it. */
function runInChild(argv: string[], env: Record<string, string>): Promise<Run> {
  const script = `require(${JSON.stringify(COMMAND)}).runTriggersCommand(process.argv.slice(1), { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() }).then((code) => { process.exitCode = code; })`;
  return new Promise((resolve) => {
    execFile(process.execPath, ['-e', script, ...argv], { cwd: ROOT, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as { code?: number }).code) : 0, stdout, stderr });
    });
  });
}

describe('migrate triggers (runTriggersCommand)', () => {
  before(() => {
    fs.mkdirSync(DIR, { recursive: true });
    fs.writeFileSync(path.join(ROOT, MODELS), MODELS_SOURCE);
    fs.writeFileSync(path.join(DIR, 'cli-columns.ts'), COLUMNS_SOURCE);
    fs.writeFileSync(path.join(DIR, 'no-models.js'), 'module.exports = { answer: 42 };\n');
    // TypeScript's NodeNext style, which tsc requires: a .ts file imported as ./x.js.
    fs.writeFileSync(path.join(DIR, 'cli-index.ts'), "export { Account } from './cli-models.js';\n");
  });
  after(() => fs.rmSync(DIR, { recursive: true, force: true }));

  describe('command line', () => {
    const usage: [string, string[], RegExp][] = [
      ['no command', [], /which command\? list, create, drop, check; see migrate triggers --help/],
      ['an unknown command', ['fix'], /unknown command "fix"/],
      ['an unknown option', ['list', '--force'], /Unknown option '--force'.*; see migrate triggers --help/],
      ['an option without its value', ['create', '--table'], /Option '--table <value>' argument missing; see migrate triggers --help/],
      ['an empty value', ['create', '--table='], /--table needs a value/],
      ['an extra argument', ['list', 'more'], /triggers list takes no arguments, got: more/],
      ['create without --models or --table', ['create'], /needs --models/],
      ['both --models and --table', ['check', '--models', 'x', '--table', 't'], /not both/],
      ['--column without --table', ['check', '--column', 'v'], /--column goes with --table/],
    ];
    for (const [why, argv, message] of usage) {
      it(`exits ${ExitCode.USAGE} with one error line, as every bin/migrate command does, for ${why}`, async () => {
        const r = await run(argv, { DATABASE_URL: 'sqlite::memory:' });
        expect(r.code).to.equal(ExitCode.USAGE);
        expect(r.stderr).to.match(/^error: [^\n]*\n$/).and.to.match(message);
        expect(r.stdout).to.equal('');
      });
    }

    it('through bin/migrate, a triggers error reads and exits as a migrate one', async () => {
      const capture = async (argv: string[]): Promise<Run> => {
        let stdout = '';
        let stderr = '';
        const code = await runMigrateCli(argv, { DATABASE_URL: 'sqlite::memory:' }, { stdout: { write: (t: string) => (stdout += t) }, stderr: { write: (t: string) => (stderr += t) } });
        return { code, stdout, stderr };
      };
      const triggers = await capture(['triggers', 'list', '--force']);
      const migrate = await capture(['status', '--force']);
      expect(triggers.code).to.equal(migrate.code).and.to.equal(ExitCode.USAGE);
      expect(triggers.stderr).to.equal(migrate.stderr.replace('migrate --help', 'migrate triggers --help'));
    });

    it(`--help prints the usage and exits ${ExitCode.OK}; no database is exit ${ExitCode.USAGE}`, async () => {
      const help = await run(['--help']);
      expect(help.code).to.equal(ExitCode.OK);
      expect(help.stdout).to.match(/list .*\n.*create/s);
      const noDb = await run(['list']);
      expect(noDb.code).to.equal(ExitCode.USAGE);
      expect(noDb.stderr).to.match(/--url .* DATABASE_URL/);
    });

    it(`a --models module without models is exit ${ExitCode.USAGE}, naming what it exports`, async () => {
      const r = await run(['check', '--models', path.relative(ROOT, path.join(DIR, 'no-models.js')), '--url', 'sqlite::memory:']);
      expect(r.code).to.equal(ExitCode.USAGE);
      expect(r.stderr).to.match(/no model classes among its exports \(answer\)/);
    });
  });

  forEachDialect('list, create, drop, check', (d) => {
    const account = versionTriggerName('cli_accounts', 'version');
    const ledger = versionTriggerName('cli_ledgers', 'rev');

    beforeEach(async () => {
      for (const t of await listVersionTriggers(d.knex)) await dropVersionTrigger(d.knex, t.table, t.column ?? 'version');
      for (const [table, column] of [['cli_accounts', 'version'], ['cli_ledgers', 'rev'], ['cli_plain', 'version']] as const) {
        await recreateTable(d.knex, table, (t) => {
          t.increments('id');
          t.string('name', 20).notNullable();
          addVersionColumn(t, column);
        });
      }
    });

    it('check exits 1 naming every TriggerVersionField whose trigger is missing; create makes check pass; create again is harmless', async () => {
      const missing = await run(['check', '--models', MODELS, '--url', d.url]);
      expect(missing.code).to.equal(ExitCode.FAILED);
      expect(missing.stderr).to.include('Account (TriggerVersionField)').and.to.include(account);
      expect(missing.stderr).to.include('Ledger (TriggerVersionField)').and.to.include(ledger);
      expect(missing.stderr).not.to.include('Plain');
      expect(missing.stderr).to.match(/2 version trigger problems/);

      const created = await run(['create', '--models', MODELS], { DATABASE_URL: d.url });
      expect(created.code).to.equal(ExitCode.OK);
      expect(created.stdout).to.include(`created ${account} on cli_accounts.version (Account)`).and.to.include(`created ${ledger} on cli_ledgers.rev (Ledger)`);
      const again = await run(['create', '--models', MODELS, '--url', d.url]);
      expect(again.code).to.equal(ExitCode.OK);
      expect(again.stdout).to.include(`exists  ${account}`);

      const ok = await run(['check', '--models', MODELS, '--url', d.url]);
      expect(ok.code).to.equal(ExitCode.OK);
      expect(ok.stdout).to.match(/All 2 version triggers are in place/);
      const one = await run(['check', '--models', path.relative(ROOT, path.join(DIR, 'cli-index.ts')), '--url', d.url]);
      expect(one.code, one.stderr).to.equal(ExitCode.OK);
      expect(one.stdout).to.equal('The version trigger is in place.\n');
    });

    it('list shows the triggers per table; drop --table removes one and check names it again', async () => {
      expect((await run(['list', '--url', d.url])).stdout).to.equal('No version triggers.\n');
      await run(['create', '--models', MODELS, '--url', d.url]);
      const listed = await run(['list', '--url', d.url]);
      expect(listed.code).to.equal(ExitCode.OK);
      const lines = listed.stdout.trimEnd().split('\n');
      // Printed as migrate status prints its table: indented, upper-case header.
      expect(lines[0]).to.match(/^ {2}TABLE\s+COLUMN\s+TRIGGER\s+STATUS$/);
      expect(lines.slice(1).map((l) => l.trim().split(/\s+/))).to.deep.equal([
        ['cli_accounts', 'version', account, 'ok'],
        ['cli_ledgers', 'rev', ledger, 'ok'],
      ]);
      const dropped = await run(['drop', '--table', 'cli_accounts', '--url', d.url]);
      expect(dropped.stdout).to.equal(`dropped ${account} on cli_accounts.version\n`);
      expect((await run(['drop', '--table', 'cli_accounts', '--column', 'version', '--url', d.url])).stdout).to.match(/^absent/);
      const check = await run(['check', '--models', MODELS, '--url', d.url]);
      expect(check.code).to.equal(ExitCode.FAILED);
      expect(check.stderr).to.include(account).and.not.to.include(ledger);
      expect((await run(['check', '--table', 'cli_ledgers', '--column', 'rev', '--url', d.url])).code).to.equal(ExitCode.OK);
    });

    it('check without --models reports orphaned triggers', async () => {
      await run(['create', '--table', 'cli_plain', '--url', d.url]);
      expect((await run(['check', '--url', d.url])).code).to.equal(ExitCode.OK);
      await d.knex.schema.alterTable('cli_plain', (t) => t.renameColumn('version', 'revision'));
      const r = await run(['check', '--url', d.url]);
      expect(r.code).to.equal(ExitCode.FAILED);
      expect(r.stderr).to.match(/^ORPHANED: /).and.to.include(versionTriggerName('cli_plain', 'version'));
      await dropVersionTrigger(d.knex, 'cli_plain', 'version');
    });

    it('runs the same from a child node process, with DATABASE_URL; a failing step is exit 1', async () => {
      const env = { DATABASE_URL: d.url };
      const before = await runInChild(['check', '--models', MODELS], env);
      expect(before.code).to.equal(ExitCode.FAILED);
      expect(before.stderr).to.include(account).and.to.include(ledger);
      expect((await run(['create', '--models', MODELS], env)).code).to.equal(ExitCode.OK);
      const after = await runInChild(['check', '--models', MODELS], env);
      expect(after.code, after.stderr).to.equal(ExitCode.OK);
      expect(after.stdout).to.match(/All 2 version triggers are in place/);
      // A table that does not exist is a wrong command line (UsageError), exit 2 as for every command.
      const noTable = await run(['create', '--table', 'cli_nowhere'], env);
      expect(noTable.code).to.equal(ExitCode.USAGE);
      expect(noTable.stderr).to.match(/there is no table cli_nowhere/);
    });
  });
});
