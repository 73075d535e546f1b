import * as path from 'node:path';
import { connect } from '../connect';
import type { Database } from '../database';
import { makeMigration } from '../migrations/make-migration';
import type { MigrationEvent, MigrationRun } from '../migrations/migration-events';
import { Migrator } from '../migrations/migrator';
import { errorMessage, ExitCode, exitCodeFor } from './exit-codes';
import { formatStatus } from './format-status';
import { HELP_TEXT } from './help-text';
import { MigrateCommand, parseMigrateArgs } from './parse-migrate-args';
import { runColumnsCommand } from './columns-command';
import { runTriggersCommand } from './triggers-command';
import { loadModels } from './load-models';
import { checkSchema } from '../migrations/check-schema';
import { makeModelMigration } from '../migrations/make-model-migration';
import { redactUrl } from '../redact-url';

/** Where the CLI writes: results to `stdout`, progress notes and errors to `stderr`. */
export interface CliOutput {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

// Knex's migrator logs its own copy of a failure; the error we print says more.
const KNEX_FAILURE_LOG = /^(migration file ".*" failed|migration failed with error|Can't take lock|If you are sure migrations)/;


function ms(n: number): string {
  return n < 10_000 ? `${Math.round(n)} ms` : `${(n / 1000).toFixed(1)} s`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function open(url: string, out: CliOutput): Database {
  const warn = (text: string): void => {
    if (!KNEX_FAILURE_LOG.test(text)) out.stderr.write(`knex: ${text}\n`);
  };
  // One line per message; a connection that cannot be made is the error we print (debug, dropped here).
  return connect(url, { log: { warn, error: warn, debug: () => {} } });
}

function progress(out: CliOutput): (event: MigrationEvent) => void {
  return (event) => {
    if (event.type === 'waiting') out.stderr.write(`Waiting for the migration lock, held by ${event.holder ?? 'another run'}...\n`);
    else if (event.type === 'notice') out.stderr.write(`note: ${event.message}\n`);
    else if (event.type === 'done') out.stdout.write(`  ${event.direction.padEnd(4)}  ${event.name}  (${ms(event.ms)})\n`);
  };
}

function summary(run: MigrationRun): string {
  if (run.batch === null) return run.direction === 'up' ? 'Already up to date: no pending migration.\n' : 'Nothing to roll back.\n';
  const what = run.direction === 'up' ? 'applied' : 'rolled back';
  return `Batch ${run.batch} ${what}: ${plural(run.migrations.length, 'migration')} in ${ms(run.ms)}.\n`;
}

/** `check --models` (and `latest --models` after its run): every problem on stderr; exit 1 when there is one. */
async function checkModels(db: Database, specifier: string, out: CliOutput): Promise<ExitCode> {
  const models = await loadModels(specifier, process.cwd());
  const problems = await checkSchema(db, models);
  for (const p of problems) out.stderr.write(`${p.kind.toUpperCase()}: ${p.message}\n`);
  if (problems.length > 0) {
    out.stderr.write(`${plural(problems.length, 'schema problem')}: the database does not fit the models.\n`);
    return ExitCode.FAILED;
  }
  out.stdout.write(`The database fits the models: ${plural(models.length, 'model')} checked (tables, columns, version columns, triggers).\n`);
  return ExitCode.OK;
}

async function makeFromModels(cmd: Extract<MigrateCommand, { command: 'make-models' }>, out: CliOutput): Promise<ExitCode> {
  const models = await loadModels(cmd.models, process.cwd());
  const db = open(cmd.url, out);
  try {
    const result = await makeModelMigration(db, models, cmd.directory, cmd.name);
    if (result.file === undefined) out.stdout.write('No changes: the database has every table, column and trigger the models need; no migration written.\n');
    else {
      out.stdout.write(`Created ${path.relative(process.cwd(), result.file)}:\n`);
      for (const step of result.steps) out.stdout.write(`  ${step}\n`);
    }
    if (result.review.length > 0) {
      out.stderr.write(`${plural(result.review.length, 'change')} that may lose data ${result.file === undefined ? 'left for you (no file written)' : 'written as comments to review'}:\n`);
      for (const item of result.review) out.stderr.write(`  ${item.split('\n').join('\n    ')}\n`);
    }
    return ExitCode.OK;
  } finally {
    await db.close();
  }
}

async function execute(cmd: Exclude<MigrateCommand, { command: 'help' | 'make' | 'make-models' }>, out: CliOutput): Promise<ExitCode> {
  const target = redactUrl(cmd.url);
  const db = open(cmd.url, out);
  try {
    if (cmd.command === 'check') return await checkModels(db, cmd.models, out);
    const migrator = new Migrator(db, { directory: cmd.directory, lockTimeoutMs: cmd.lockTimeoutMs, onEvent: progress(out) });
    switch (cmd.command) {
      case 'status': {
        const status = await migrator.status();
        out.stdout.write(formatStatus(status, target));
        return status.problems.length > 0 ? ExitCode.INTEGRITY : ExitCode.OK;
      }
      case 'latest':
      case 'rollback': {
        const verb = cmd.command === 'latest' ? 'Migrating' : 'Rolling back';
        out.stdout.write(`${verb} ${target} with ${path.relative(process.cwd(), migrator.directory) || '.'}\n`);
        out.stdout.write(summary(cmd.command === 'latest' ? await migrator.latest() : await migrator.rollback()));
        return cmd.models === undefined ? ExitCode.OK : await checkModels(db, cmd.models, out);
      }
      case 'accept': {
        const changed = await migrator.accept(cmd.files);
        for (const name of cmd.files.map((f) => path.basename(f))) {
          out.stdout.write(changed.includes(name) ? `accepted the new checksum of ${name}\n` : `${name} already matches its checksum\n`);
        }
        return ExitCode.OK;
      }
      case 'unlock': {
        const report = await migrator.unlock();
        out.stdout.write(report.knexLockCleared ? "Reset Knex's migration lock row.\n" : "Knex's migration lock was not set.\n");
        for (const name of report.interruptedCleared) out.stdout.write(`Cleared the interrupted-migration warning for ${name}.\n`);
        out.stdout.write('No migration run holds the lock.\n');
        return ExitCode.OK;
      }
    }
  } finally {
    await db.close();
  }
}

/**
 * Runs `bin/migrate` with `argv` (without the node and script paths) and
 * resolves to its exit code; never throws.
 *
 * @example
 * ```ts
 * process.exitCode = await runMigrateCli(['status', '--url', 'sqlite:./app.db'], process.env);
 * ```
 */
export async function runMigrateCli(argv: readonly string[], env: NodeJS.ProcessEnv, out: CliOutput = process): Promise<ExitCode> {
  if (argv[0] === 'columns') return runColumnsCommand(argv.slice(1), { stdout: out.stdout, stderr: out.stderr, env, cwd: process.cwd() });
  if (argv[0] === 'triggers') return runTriggersCommand(argv.slice(1), { stdout: out.stdout, stderr: out.stderr, env, cwd: process.cwd() });
  try {
    const cmd = parseMigrateArgs(argv, env);
    if (cmd.command === 'help') {
      out.stdout.write(HELP_TEXT);
      return ExitCode.OK;
    }
    if (cmd.command === 'make-models') return await makeFromModels(cmd, out);
    if (cmd.command === 'make') {
      const file = await makeMigration(cmd.directory, cmd.name);
      out.stdout.write(`Created ${path.relative(process.cwd(), file)}\n`);
      return ExitCode.OK;
    }
    return await execute(cmd, out);
  } catch (err) {
    out.stderr.write(`error: ${errorMessage(err)}\n`);
    return exitCodeFor(err);
  }
}
