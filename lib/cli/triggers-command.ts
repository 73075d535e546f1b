import { connect } from '../connect';
import type { Database } from '../database';
import { KnexConcurrencyError, UsageError } from '../errors';
import { checkVersionTriggers, TriggerTargetOf, triggerTargetsOf, VersionTriggerProblem } from '../migrations/check-version-triggers';
import { versionTriggerName } from '../dialects/version-trigger-name';
import { createVersionTrigger, dropVersionTrigger, listVersionTriggers } from '../migrations/version-triggers';
import { loadModels } from './load-models';

/** Where the command writes, and what it reads from its environment (small, so a spec can substitute it). */
export interface TriggersCommandIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

/** Exit codes: done; problems found (or a step failed); the command line was wrong. */
export const EXIT_OK = 0;
export const EXIT_PROBLEMS = 1;
export const EXIT_USAGE = 2;

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
`;

const COMMANDS = new Set(['list', 'create', 'drop', 'check']);
const VALUE_OPTIONS = new Set(['models', 'table', 'column', 'url']);

interface Parsed {
  command: string;
  options: Record<string, string>;
  help: boolean;
}

class ArgumentError extends Error {}

function parse(argv: readonly string[]): Parsed {
  const options: Record<string, string> = {};
  const positional: string[] = [];
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const key = arg.slice(2, eq < 0 ? undefined : eq);
    if (!VALUE_OPTIONS.has(key)) throw new ArgumentError(`unknown option ${arg}`);
    const value = eq < 0 ? argv[++i] : arg.slice(eq + 1);
    if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) throw new ArgumentError(`${arg} needs a value`);
    options[key] = value;
  }
  if (help) return { command: '', options, help };
  if (positional.length !== 1 || !COMMANDS.has(positional[0]!)) {
    throw new ArgumentError(positional.length === 0 ? 'which command? list, create, drop or check' : `unknown command ${positional.join(' ')}`);
  }
  const command = positional[0]!;
  if (options.models !== undefined && options.table !== undefined) throw new ArgumentError('give --models or --table, not both');
  if (options.column !== undefined && options.table === undefined) throw new ArgumentError('--column goes with --table');
  if ((command === 'create' || command === 'drop') && options.models === undefined && options.table === undefined) {
    throw new ArgumentError(`${command} needs --models <module> or --table <table> [--column <column>]`);
  }
  if (command === 'list' && (options.models !== undefined || options.table !== undefined)) throw new ArgumentError('list takes no --models or --table');
  return { command, options, help };
}

/** The triggers the options name, or `undefined` when they name none (check everything installed). */
async function targetsOf(options: Record<string, string>, io: TriggersCommandIo): Promise<TriggerTargetOf[] | undefined> {
  if (options.table !== undefined) return [{ table: options.table, column: options.column ?? 'version' }];
  if (options.models === undefined) return undefined;
  const models = await loadModels(options.models, io.cwd);
  const targets = triggerTargetsOf(models);
  if (targets.length === 0) {
    throw new UsageError(`--models ${options.models}: none of its models (${models.map((m) => m.name).join(', ')}) has a TriggerVersionField`);
  }
  return targets;
}

const describeTarget = (t: TriggerTargetOf): string => `${versionTriggerName(t.table, t.column)} on ${t.table}.${t.column}${t.model === undefined ? '' : ` (${t.model})`}`;

async function list(db: Database, io: TriggersCommandIo): Promise<number> {
  const triggers = await listVersionTriggers(db);
  if (triggers.length === 0) {
    io.stdout.write('No version triggers.\n');
    return EXIT_OK;
  }
  const rows = [['table', 'column', 'trigger', 'status'], ...triggers.map((t) => [t.table, t.column ?? '?', t.name, t.column === null ? 'orphaned' : t.enabled ? 'ok' : 'disabled'])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) io.stdout.write(`${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}\n`);
  return EXIT_OK;
}

async function createOrDrop(db: Database, command: 'create' | 'drop', targets: readonly TriggerTargetOf[], io: TriggersCommandIo): Promise<number> {
  for (const t of targets) {
    const changed = command === 'create' ? await createVersionTrigger(db, t.table, t.column) : await dropVersionTrigger(db, t.table, t.column);
    const verb = command === 'create' ? (changed ? 'created' : 'exists ') : changed ? 'dropped' : 'absent ';
    io.stdout.write(`${verb} ${describeTarget(t)}\n`);
  }
  return EXIT_OK;
}

async function check(db: Database, targets: readonly TriggerTargetOf[] | undefined, io: TriggersCommandIo): Promise<number> {
  const problems: VersionTriggerProblem[] = await checkVersionTriggers(db, targets);
  for (const p of problems) io.stderr.write(`${p.kind.toUpperCase()}: ${p.message}\n`);
  if (problems.length > 0) {
    io.stderr.write(`${problems.length} version trigger problem${problems.length === 1 ? '' : 's'}.\n`);
    return EXIT_PROBLEMS;
  }
  const what = targets === undefined ? 'The installed version triggers are' : targets.length === 1 ? 'The version trigger is' : `All ${targets.length} version triggers are`;
  io.stdout.write(`${what} in place.\n`);
  return EXIT_OK;
}

/**
 * `migrate triggers list | create | drop | check`: the command line of the
 * version trigger tooling. `argv` is what follows `triggers`. Resolves the
 * exit code (0 done, 1 problems found or a step failed, 2 wrong usage); it
 * never calls `process.exit`, so it runs in-process as well as from
 * `bin/migrate`.
 *
 * @example
 * ```ts
 * process.exitCode = await runTriggersCommand(process.argv.slice(3), {
 *   stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(),
 * });
 * ```
 */
export async function runTriggersCommand(argv: readonly string[], io: TriggersCommandIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parse(argv);
  } catch (err) {
    if (!(err instanceof ArgumentError)) throw err;
    io.stderr.write(`migrate triggers: ${err.message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (parsed.help) {
    io.stdout.write(USAGE);
    return EXIT_OK;
  }
  const url = parsed.options.url ?? io.env.DATABASE_URL;
  if (url === undefined || url === '') {
    io.stderr.write('migrate triggers: no database; pass --url <url> or set DATABASE_URL\n');
    return EXIT_USAGE;
  }
  let db: Database | undefined;
  try {
    const targets = await targetsOf(parsed.options, io);
    db = connect(url);
    if (parsed.command === 'list') return await list(db, io);
    if (parsed.command === 'check') return await check(db, targets, io);
    return await createOrDrop(db, parsed.command as 'create' | 'drop', targets!, io);
  } catch (err) {
    const usage = err instanceof UsageError && db === undefined;
    const message = err instanceof KnexConcurrencyError ? err.message : `${(err as Error)?.message ?? String(err)}`;
    io.stderr.write(`migrate triggers ${parsed.command}: ${message}\n`);
    return usage ? EXIT_USAGE : EXIT_PROBLEMS;
  } finally {
    await db?.close();
  }
}
