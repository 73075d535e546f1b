import type { Knex } from 'knex';

/**
 * Where the messages Knex and the drivers would print go. Each is one line:
 * no stack traces.
 */
export interface DatabaseLogger {
  /** Something may need attention (a Knex warning). */
  warn(message: string): void;
  /** Something failed that no caller was told about. */
  error(message: string): void;
  /**
   * Noise the library turns into typed errors anyway: a connection attempt
   * that failed (its caller gets a `DatabaseUnavailableError`), a dead
   * connection the pool dropped and will replace. Also Knex's query log
   * when the Knex config says `debug: true`.
   */
  debug(message: string): void;
}

// What Knex warns about each time a connection cannot be made or is found
// dead; the same failure reaches the caller as a typed error.
const CONNECTION_NOISE = /^(Acquire connection error|Connection Error): /;

const STACK_LINE = /^\s+at /;

/** A message as one line: Knex's acquire warnings carry the whole stack of the driver's error. */
export function oneLine(message: unknown): string {
  const text = typeof message === 'string' ? message : message instanceof Error ? `${message.name}: ${message.message}` : JSON.stringify(message) ?? String(message);
  return text
    .split('\n')
    .filter((line) => !STACK_LINE.test(line))
    .map((line) => line.trim())
    .filter((line) => line !== '')
    .join(' ');
}

/** The default: warnings and errors on the console, one line each, connection noise nowhere. */
export const consoleLogger: DatabaseLogger = Object.freeze({
  warn: (message: string) => console.warn(`knex-concurrency: ${message}`),
  error: (message: string) => console.error(`knex-concurrency: ${message}`),
  debug: () => undefined,
});

/**
 * Knex's `log` option that sends every message through `logger`, one line
 * each, with the connection noise demoted to `debug`.
 */
export function knexLog(logger: Partial<DatabaseLogger> = consoleLogger): NonNullable<Knex.Config['log']> {
  const send = (level: keyof DatabaseLogger, message: unknown): void => {
    const line = oneLine(message);
    const to = level === 'warn' && CONNECTION_NOISE.test(line) ? 'debug' : level;
    logger[to]?.(line);
  };
  return {
    warn: (message: unknown) => send('warn', message),
    error: (message: unknown) => send('error', message),
    // Knex's logger hands a user's `deprecate` the finished sentence.
    deprecate: (message: unknown) => send('warn', message),
    debug: (message: unknown) => send('debug', message),
  } as NonNullable<Knex.Config['log']>;
}
