import { connect } from '../connect';
import type { Database } from '../database';
import { UsageError } from '../errors';
import { checkVersionTriggers, TriggerTargetOf, triggerTargetsOf, VersionTriggerProblem } from '../migrations/check-version-triggers';
import { versionTriggerName } from '../dialects/version-trigger-name';
import { createVersionTrigger, dropVersionTrigger, listVersionTriggers } from '../migrations/version-triggers';
import { errorMessage, ExitCode, exitCodeFor } from './exit-codes';
import { formatTable } from './format-table';
import { loadModels } from './load-models';
import { parseTriggersArgs, type TriggersCommand } from './parse-triggers-args';

/** Where the command writes, and what it reads from its environment (small, so a spec can substitute it). */
export interface TriggersCommandIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

const USAGE = `Usage: migrate triggers <command> [options]

Commands:
  list     the version triggers knex-concurrency created, per table
  create   create the version triggers of --models, or of --table/--column (harmless if present)
  drop     drop them (on PostgreSQL, with their functions)
  check    exit 1, naming each TriggerVersionField whose trigger is missing or disabled
           (without --models/--table: check the installed triggers for orphans)

Options:
  --models <module>   a .ts/.mts/.cts/.js/.mjs/.cjs module exporting model classes (relative to the current directory)
  --table <table>     one table instead of --models ...
  --column <column>   ... and its version column (default: version)
  --url <url>         the database (default: $DATABASE_URL)
  --help              this text

Exit codes: 0 done, 1 problems found or a step failed, 2 wrong usage (as for every migrate command).
`;

type Run = Exclude<TriggersCommand, { command: 'help' }>;

/** The triggers the command names, or `undefined` when it names none (check everything installed). */
async function targetsOf(cmd: Run, io: TriggersCommandIo): Promise<TriggerTargetOf[] | undefined> {
  if (cmd.table !== undefined) return [{ table: cmd.table.name, column: cmd.table.column }];
  if (cmd.models === undefined) return undefined;
  const models = await loadModels(cmd.models, io.cwd);
  const targets = triggerTargetsOf(models);
  if (targets.length === 0) {
    throw new UsageError(`--models ${cmd.models}: none of its models (${models.map((m) => m.name).join(', ')}) has a TriggerVersionField`);
  }
  return targets;
}

const describeTarget = (t: TriggerTargetOf): string => `${versionTriggerName(t.table, t.column)} on ${t.table}.${t.column}${t.model === undefined ? '' : ` (${t.model})`}`;

async function list(db: Database, io: TriggersCommandIo): Promise<ExitCode> {
  const triggers = await listVersionTriggers(db);
  if (triggers.length === 0) {
    io.stdout.write('No version triggers.\n');
    return ExitCode.OK;
  }
  const rows = triggers.map((t) => [t.table, t.column ?? '?', t.name, t.column === null ? 'orphaned' : t.enabled ? 'ok' : 'disabled']);
  io.stdout.write(`${formatTable(['TABLE', 'COLUMN', 'TRIGGER', 'STATUS'], rows).join('\n')}\n`);
  return ExitCode.OK;
}

async function createOrDrop(db: Database, command: 'create' | 'drop', targets: readonly TriggerTargetOf[], io: TriggersCommandIo): Promise<ExitCode> {
  for (const t of targets) {
    const changed = command === 'create' ? await createVersionTrigger(db, t.table, t.column) : await dropVersionTrigger(db, t.table, t.column);
    const verb = command === 'create' ? (changed ? 'created' : 'exists ') : changed ? 'dropped' : 'absent ';
    io.stdout.write(`${verb} ${describeTarget(t)}\n`);
  }
  return ExitCode.OK;
}

async function check(db: Database, targets: readonly TriggerTargetOf[] | undefined, io: TriggersCommandIo): Promise<ExitCode> {
  const problems: VersionTriggerProblem[] = await checkVersionTriggers(db, targets);
  for (const p of problems) io.stderr.write(`${p.kind.toUpperCase()}: ${p.message}\n`);
  if (problems.length > 0) {
    io.stderr.write(`${problems.length} version trigger problem${problems.length === 1 ? '' : 's'}.\n`);
    return ExitCode.FAILED;
  }
  const what = targets === undefined ? 'The installed version triggers are' : targets.length === 1 ? 'The version trigger is' : `All ${targets.length} version triggers are`;
  io.stdout.write(`${what} in place.\n`);
  return ExitCode.OK;
}

/**
 * `migrate triggers list | create | drop | check`: the command line of the
 * version trigger tooling. `argv` is what follows `triggers`. Parsed,
 * reported and exited like the other commands of `bin/migrate` (see
 * `ExitCode`): 0 done, 1 problems found or a step failed, 2 wrong usage.
 * It never calls `process.exit`, so it runs in-process as well as from
 * `bin/migrate`.
 *
 * @example
 * ```ts
 * process.exitCode = await runTriggersCommand(process.argv.slice(3), {
 *   stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(),
 * });
 * ```
 */
export async function runTriggersCommand(argv: readonly string[], io: TriggersCommandIo): Promise<ExitCode> {
  let db: Database | undefined;
  try {
    const cmd = parseTriggersArgs(argv, io.env);
    if (cmd.command === 'help') {
      io.stdout.write(USAGE);
      return ExitCode.OK;
    }
    const targets = await targetsOf(cmd, io);
    db = connect(cmd.url);
    if (cmd.command === 'list') return await list(db, io);
    if (cmd.command === 'check') return await check(db, targets, io);
    return await createOrDrop(db, cmd.command, targets!, io);
  } catch (err) {
    io.stderr.write(`error: ${errorMessage(err)}\n`);
    return exitCodeFor(err);
  } finally {
    await db?.close();
  }
}
