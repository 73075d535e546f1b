import { parseArgs } from 'node:util';
import { UsageError } from '../errors';

/** A parsed `bin/migrate` command line. */
export type MigrateCommand =
  | { readonly command: 'help' }
  | { readonly command: 'make'; readonly name: string; readonly directory: string }
  | { readonly command: 'make-models'; readonly name: string; readonly directory: string; readonly url: string; readonly models: string }
  | { readonly command: 'check'; readonly url: string; readonly models: string }
  | {
      readonly command: 'latest' | 'status' | 'rollback' | 'unlock' | 'accept';
      /** For `latest`: the models module to check the schema against afterwards. */
      readonly models?: string;
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
  const models = values.models;
  const url = values.url ?? env.DATABASE_URL;
  const noUrl = (what: string): UsageError => new UsageError(`${what} reads the database: pass --url <url> or set DATABASE_URL`);
  if (command === 'make') {
    if (rest.length !== 1) throw new UsageError('make takes one name, such as: migrate make create_products');
    if (models === undefined) return { command, name: rest[0]!, directory };
    if (!url) throw noUrl('make --models');
    return { command: 'make-models', name: rest[0]!, directory, url, models };
  }
  if (command === 'check') {
    if (rest.length > 0) throw new UsageError(`check takes no arguments, got: ${rest.join(' ')}`);
    if (models === undefined) throw new UsageError('check needs --models <module>: the module that exports your model classes');
    if (!url) throw noUrl('check');
    return { command, url, models };
  }
  const known = WITH_DATABASE as readonly string[];
  if (!known.includes(command)) throw new UsageError(`unknown command "${command}"; commands: ${[...WITH_DATABASE, 'make', 'check', 'triggers', 'help'].join(', ')}`);
  if (models !== undefined && command !== 'latest') throw new UsageError(`--models goes with latest, make and check, not ${command}`);
  if (command === 'accept' && rest.length === 0) throw new UsageError('accept takes the applied migration file(s) whose edit to accept');
  if (command !== 'accept' && rest.length > 0) throw new UsageError(`${command} takes no arguments, got: ${rest.join(' ')}`);
  if (!url) throw new UsageError('no database: pass --url <url> or set DATABASE_URL');
  const seconds = values['lock-timeout'] === undefined ? DEFAULT_LOCK_TIMEOUT_S : Number(values['lock-timeout']);
  if (!Number.isFinite(seconds) || seconds < 0) throw new UsageError(`--lock-timeout takes a number of seconds, not "${values['lock-timeout']}"`);
  return { command: command as (typeof WITH_DATABASE)[number], url, directory, lockTimeoutMs: seconds * 1000, files: rest, ...(models === undefined ? {} : { models }) };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      dir: { type: 'string' },
      models: { type: 'string' },
      'lock-timeout': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
