import type { Knex } from 'knex';
import { CatalogTrigger, rawRows, splitTable, TriggerStatus, VersionTriggerDialect, VersionTriggerTarget } from '../version-trigger-dialect';

const q = (name: string): string => `\`${name.replace(/`/g, '``')}\``;

// ER_TRG_ALREADY_EXISTS: another process created it first.
const TRIGGER_EXISTS = 1359;

const qualified = (schema: string | undefined, name: string): string => (schema === undefined ? q(name) : `${q(schema)}.${q(name)}`);

async function columns(knex: Knex, table: string): Promise<string[] | undefined> {
  const [schema, bare] = splitTable(table);
  const names = rawRows(
    await knex.raw('SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION', [
      schema ?? null,
      bare,
    ]),
  ).map((c) => String(c.name));
  return names.length === 0 ? undefined : names;
}

async function exists(knex: Knex, t: VersionTriggerTarget): Promise<boolean> {
  const [schema, table] = splitTable(t.table);
  const rows = rawRows(
    await knex.raw(
      'SELECT 1 AS ok FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = COALESCE(?, DATABASE()) AND TRIGGER_NAME = ? AND EVENT_OBJECT_TABLE = ?',
      [schema ?? null, t.name, table],
    ),
  );
  return rows.length > 0;
}

/**
 * Version triggers on MySQL and MariaDB: a BEFORE UPDATE trigger sets
 * NEW.version to OLD.version + 1. Trigger names are per database (schema).
 * There is no `UPDATE ... RETURNING` (MariaDB has it for INSERT and DELETE
 * only), so a save reads the version back inside its own transaction.
 */
export const mysqlVersionTriggers: VersionTriggerDialect = {
  returningGuard: () => undefined,
  isGuardFailure: () => false,

  async create(knex, t) {
    if (await exists(knex, t)) return false;
    const [schema, table] = splitTable(t.table);
    const col = q(t.column);
    try {
      await knex.raw(`CREATE TRIGGER ${qualified(schema, t.name)} BEFORE UPDATE ON ${qualified(schema, table)} FOR EACH ROW SET NEW.${col} = COALESCE(OLD.${col}, 0) + 1`);
    } catch (err) {
      if ((err as { errno?: number }).errno === TRIGGER_EXISTS) return false;
      throw err;
    }
    return true;
  },

  async drop(knex, t) {
    const had = await exists(knex, t);
    await knex.raw(`DROP TRIGGER IF EXISTS ${qualified(splitTable(t.table)[0], t.name)}`);
    return had;
  },

  async list(knex, prefix) {
    const triggers = rawRows(
      await knex.raw(
        'SELECT TRIGGER_NAME AS name, EVENT_OBJECT_TABLE AS tbl FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE() AND LEFT(TRIGGER_NAME, ?) = ? ORDER BY EVENT_OBJECT_TABLE, TRIGGER_NAME',
        [prefix.length, prefix],
      ),
    );
    const out: CatalogTrigger[] = [];
    for (const r of triggers) {
      const table = String(r.tbl);
      out.push({ name: String(r.name), table, columns: (await columns(knex, table)) ?? [], enabled: true });
    }
    return out;
  },

  async status(knex, t): Promise<TriggerStatus> {
    return (await exists(knex, t)) ? 'present' : 'missing';
  },

  columns,
};
