import { parseArgs } from 'node:util';
import { UsageError } from '../errors';

/** A parsed `bin/migrate` command line. */
export type MigrateCommand =
  | { readonly command: 'help' }
  | { readonly command: 'make'; readonly name: string; readonly directory: string }
  | {
      readonly command: 'latest' | 'status' | 'rollback' | 'unlock' | 'accept';
      readonly url: string;
      readonly directory: string;
      readonly lockTimeoutMs: number;
      /** For `accept`. */
      readonly files: readonly string[];
    };

const DEFAULT_LOCK_TIMEOUT_S = 600;
const WITH_DATABASE = ['latest', 'status', 'rollback', 'unlock', 'accept'] as const;

/** `argv` without the node and script paths; `env` for `DATABASE_URL`. Throws `UsageError`. */
export function parseMigrateArgs(argv: readonly string[], env: NodeJS.ProcessEnv): MigrateCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; see migrate --help`);
  }
  const { values, positionals } = parsed;
  const [command = 'latest', ...rest] = positionals;
  if (values.help || command === 'help') return { command: 'help' };
  const directory = values.dir ?? './migrations';
  if (command === 'make') {
    if (rest.length !== 1) throw new UsageError('make takes one name, such as: migrate make create_products');
    return { command, name: rest[0], directory };
  }
  const known = WITH_DATABASE as readonly string[];
  if (!known.includes(command)) throw new UsageError(`unknown command "${command}"; commands: ${[...WITH_DATABASE, 'make', 'help'].join(', ')}`);
  if (command === 'accept' && rest.length === 0) throw new UsageError('accept takes the applied migration file(s) whose edit to accept');
  if (command !== 'accept' && rest.length > 0) throw new UsageError(`${command} takes no arguments, got: ${rest.join(' ')}`);
  const url = values.url ?? env.DATABASE_URL;
  if (!url) throw new UsageError('no database: pass --url <url> or set DATABASE_URL');
  const seconds = values['lock-timeout'] === undefined ? DEFAULT_LOCK_TIMEOUT_S : Number(values['lock-timeout']);
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`--lock-timeout takes a number of seconds, not "${values['lock-timeout']}"`);
  return { command: command as (typeof WITH_DATABASE)[number], url, directory, lockTimeoutMs: seconds * 1000, files: rest };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      dir: { type: 'string' },
      'lock-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
