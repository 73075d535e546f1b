import { UsageError } from '../errors';

/**
 * The isolation levels a transaction can ask for, by their SQL names. Each
 * database gives at least the level asked for (the SQL standard lets it give
 * a stronger one): PostgreSQL and MySQL/MariaDB run each as named; SQLite
 * runs every transaction SERIALIZABLE.
 */
export type IsolationLevel = 'serializable' | 'repeatable read' | 'read committed';

const LEVELS: readonly IsolationLevel[] = Object.freeze(['serializable', 'repeatable read', 'read committed']);

/** `value` as an isolation level, `undefined` when not given; anything else is a `UsageError` naming `where`. */
export function checkIsolation(value: unknown, where: string): IsolationLevel | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (LEVELS as readonly string[]).includes(value)) return value as IsolationLevel;
  const shown = typeof value === 'string' ? `'${value}'` : String(value);
  throw new UsageError(`${where}: isolation must be one of ${LEVELS.map((l) => `'${l}'`).join(', ')}, not ${shown}`);
}
