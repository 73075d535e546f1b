import { connect } from '../connect';
import type { Database } from '../database';
import { KnexConcurrencyError } from '../errors';
import { checkFieldColumns } from '../migrations/check-field-columns';
import { ExitCode } from './exit-codes';
import type { TriggersCommandIo } from './triggers-command';
import { loadModels } from './load-models';

const USAGE = `Usage: migrate columns check --models <module> [--url <url>]

Reads the column types of the models' tables and exits 1, naming each field
whose column would change its values (a FloatField on a real or float(8,2)
column: use t.double()) or whose column is missing.

Options:
  --models <module>   a .ts/.mts/.cts/.js/.mjs/.cjs module exporting model classes (relative to the current directory)
  --url <url>         the database (default: $DATABASE_URL)
  --help              this text
`;

/** `migrate columns check --models <module>`: `argv` is what follows `columns`. Resolves the exit code. */
export async function runColumnsCommand(argv: readonly string[], io: TriggersCommandIo): Promise<ExitCode> {
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(USAGE);
    return ExitCode.OK;
  }
  const options: Record<string, string> = {};
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) positional.push(arg);
    else if (arg === '--models' || arg === '--url') options[arg.slice(2)] = argv[++i] ?? '';
    else return usage(io, `unknown option ${arg}`);
  }
  if (positional.length !== 1 || positional[0] !== 'check') return usage(io, positional.length === 0 ? 'which command? check' : `unknown command ${positional.join(' ')}`);
  if (!options.models) return usage(io, 'check needs --models <module>');
  const url = options.url || io.env.DATABASE_URL;
  if (!url) return usage(io, 'no database; pass --url <url> or set DATABASE_URL');
  let db: Database | undefined;
  try {
    const models = await loadModels(options.models, io.cwd);
    db = connect(url);
    const problems = await checkFieldColumns(db, models);
    for (const p of problems) io.stderr.write(`LOSSY: ${p.message}\n`);
    if (problems.length > 0) {
      io.stderr.write(`${problems.length} column problem${problems.length === 1 ? '' : 's'}.\n`);
      return ExitCode.FAILED;
    }
    io.stdout.write(`The columns of ${models.length} model${models.length === 1 ? '' : 's'} store their fields faithfully.\n`);
    return ExitCode.OK;
  } catch (err) {
    io.stderr.write(`migrate columns check: ${err instanceof KnexConcurrencyError ? err.message : String((err as Error)?.message ?? err)}\n`);
    return ExitCode.FAILED;
  } finally {
    await db?.close();
  }
}

function usage(io: TriggersCommandIo, problem: string): ExitCode {
  io.stderr.write(`migrate columns: ${problem}\n\n${USAGE}`);
  return ExitCode.USAGE;
}
