import { parseArgs } from 'node:util';
import { UsageError } from '../errors';

/** A parsed `migrate triggers` command line. */
export type TriggersCommand =
  | { readonly command: 'help' }
  | {
      readonly command: 'list' | 'create' | 'drop' | 'check';
      readonly url: string;
      /** The models module whose `TriggerVersionField`s to act on. */
      readonly models?: string;
      /** One table instead of `models`, with its version column. */
      readonly table?: { readonly name: string; readonly column: string };
    };

const COMMANDS = ['list', 'create', 'drop', 'check'] as const;

/**
 * `argv` is what follows `triggers`; `env` for `DATABASE_URL`. Throws
 * `UsageError`, as `parseMigrateArgs` does for the other commands.
 */
export function parseTriggersArgs(argv: readonly string[], env: NodeJS.ProcessEnv): TriggersCommand {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; see migrate triggers --help`);
  }
  const { values, positionals } = parsed;
  if (values.help) return { command: 'help' };
  const [command, ...rest] = positionals;
  if (command === undefined) throw new UsageError(`which command? ${COMMANDS.join(', ')}; see migrate triggers --help`);
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command "${command}"; triggers commands: ${COMMANDS.join(', ')}`);
  if (rest.length > 0) throw new UsageError(`triggers ${command} takes no arguments, got: ${rest.join(' ')}`);
  const { models, table, column } = values;
  if (models !== undefined && table !== undefined) throw new UsageError('give --models or --table, not both');
  if (column !== undefined && table === undefined) throw new UsageError('--column goes with --table');
  if ((command === 'create' || command === 'drop') && models === undefined && table === undefined) {
    throw new UsageError(`triggers ${command} needs --models <module> or --table <table> [--column <column>]`);
  }
  if (command === 'list' && (models !== undefined || table !== undefined)) throw new UsageError('triggers list takes no --models or --table');
  for (const [name, value] of Object.entries({ models, table, column, url: values.url })) {
    if (value === '') throw new UsageError(`--${name} needs a value`);
  }
  const url = values.url ?? env.DATABASE_URL;
  if (!url) throw new UsageError('no database: pass --url <url> or set DATABASE_URL');
  return {
    command: command as (typeof COMMANDS)[number],
    url,
    ...(models === undefined ? {} : { models }),
    ...(table === undefined ? {} : { table: { name: table, column: column ?? 'version' } }),
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      url: { type: 'string' },
      models: { type: 'string' },
      table: { type: 'string' },
      column: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
