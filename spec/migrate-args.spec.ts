import { expect } from 'chai';
import { parseMigrateArgs } from '../lib/cli/parse-migrate-args';
import { UsageError } from '../lib';
import { runCli } from './migrate-fixtures';

// No database here: the command line and the exit codes that need none.
describe('bin/migrate command line', () => {
  const env = { DATABASE_URL: 'sqlite:./env.db' };

  it('defaults to latest, ./migrations, DATABASE_URL and a 10-minute lock timeout', () => {
    expect(parseMigrateArgs([], env)).to.deep.equal({ command: 'latest', url: 'sqlite:./env.db', directory: './migrations', lockTimeoutMs: 600_000, files: [] });
  });

  it('takes --url over DATABASE_URL, --dir, --lock-timeout in seconds, and accept files', () => {
    expect(parseMigrateArgs(['accept', 'a.ts', 'b.ts', '--url', 'sqlite:x.db', '--dir', 'db/m', '--lock-timeout', '2.5'], env)).to.deep.equal({
      command: 'accept',
      url: 'sqlite:x.db',
      directory: 'db/m',
      lockTimeoutMs: 2500,
      files: ['a.ts', 'b.ts'],
    });
    expect(parseMigrateArgs(['make', 'create_products', '--dir', 'db/m'], {})).to.deep.equal({ command: 'make', name: 'create_products', directory: 'db/m' });
    expect(parseMigrateArgs(['status', '-h'], {})).to.deep.equal({ command: 'help' });
  });

  it('refuses what it cannot run, with a usage error that says what to do', () => {
    const cases: [string[], RegExp][] = [
      [['status'], /no database: pass --url <url> or set DATABASE_URL/],
      [['migrate-all'], /unknown command "migrate-all"/],
      [['--force'], /Unknown option '--force'.*see migrate --help/],
      [['make'], /make takes one name/],
      [['accept'], /accept takes the applied migration file/],
      [['rollback', 'extra'], /rollback takes no arguments/],
      [['--lock-timeout', 'soon'], /--lock-timeout takes a number of seconds/],
    ];
    for (const [argv, message] of cases) {
      expect(() => parseMigrateArgs(argv, argv[0] === 'status' ? {} : env), argv.join(' ')).to.throw(UsageError, message);
    }
  });

  it('--help prints the commands and exit codes and exits 0; a usage error exits 2', async () => {
    const help = await runCli(['--help']);
    expect(help.code).to.equal(0);
    for (const text of ['latest', 'status', 'rollback', 'make <name>', 'accept <file>', 'unlock', 'Exit codes:', '  4  another run holds the migration lock']) {
      expect(help.stdout).to.contain(text);
    }
    const usage = await runCli(['status']);
    expect(usage.code).to.equal(2);
    expect(usage.stderr).to.equal('error: no database: pass --url <url> or set DATABASE_URL\n');
  });
});
