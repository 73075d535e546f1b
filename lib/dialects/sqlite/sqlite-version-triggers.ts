import type { Knex } from 'knex';
import { CatalogTrigger, rawRows, TriggerStatus, VersionTriggerDialect, VersionTriggerTarget } from '../version-trigger-dialect';

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;
const literal = (text: string): string => `'${text.replace(/'/g, "''")}'`;

/** The columns that find the row again: the primary key, or the rowid of a table without one. */
async function rowKey(knex: Knex, table: string): Promise<string[]> {
  const pk = rawRows(await knex.raw('SELECT name FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk', [table]));
  return pk.length === 0 ? ['rowid'] : pk.map((r) => String(r.name));
}

/**
 * SQLite cannot change NEW in a BEFORE trigger, so an AFTER UPDATE trigger
 * updates the row again. That second UPDATE fires the trigger once more
 * when `PRAGMA recursive_triggers = ON`; the WHEN clause stops it there,
 * because the second UPDATE leaves the version at exactly OLD + 1.
 *
 * A nested firing cannot be told from a raw UPDATE that sets the version
 * itself, so instead of overriding such a write (as the BEFORE triggers of
 * PostgreSQL and MySQL do) the trigger refuses it: a version set to any value
 * but its current one or the next one would let a stale copy match again.
 */
function createSql(t: VersionTriggerTarget, key: readonly string[]): string {
  const col = q(t.column);
  const next = `COALESCE(OLD.${col}, 0) + 1`;
  const where = key.map((k) => (k === 'rowid' ? 'rowid = NEW.rowid' : `${q(k)} = NEW.${q(k)}`)).join(' AND ');
  const refusal = `knex-concurrency: ${t.table}.${t.column} is kept by trigger ${t.name}, which raises it by 1 on every UPDATE; do not set it`;
  return [
    `CREATE TRIGGER IF NOT EXISTS ${q(t.name)} AFTER UPDATE ON ${q(t.table)} FOR EACH ROW`,
    `WHEN NEW.${col} IS NOT ${next}`,
    'BEGIN',
    `  SELECT RAISE(ABORT, ${literal(refusal)}) WHERE NEW.${col} IS NOT OLD.${col};`,
    `  UPDATE ${q(t.table)} SET ${col} = ${next} WHERE ${where};`,
    'END',
  ].join('\n');
}

async function columns(knex: Knex, table: string): Promise<string[] | undefined> {
  const names = rawRows(await knex.raw('SELECT name FROM pragma_table_info(?)', [table])).map((c) => String(c.name));
  return names.length === 0 ? undefined : names;
}

async function exists(knex: Knex, t: VersionTriggerTarget): Promise<boolean> {
  const rows = rawRows(await knex.raw("SELECT 1 AS ok FROM sqlite_master WHERE type = 'trigger' AND name = ? AND tbl_name = ?", [t.name, t.table]));
  return rows.length > 0;
}

/** Version triggers on SQLite: one guarded AFTER UPDATE trigger per table. */
export const sqliteVersionTriggers: VersionTriggerDialect = {
  // RETURNING reports the row before AFTER triggers ran: the old version.
  returningGuard: () => undefined,
  isGuardFailure: () => false,

  async create(knex, t) {
    if (await exists(knex, t)) return false;
    await knex.raw(createSql(t, await rowKey(knex, t.table)));
    return true;
  },

  async drop(knex, t) {
    const had = await exists(knex, t);
    await knex.raw(`DROP TRIGGER IF EXISTS ${q(t.name)}`);
    return had;
  },

  async list(knex, prefix) {
    const rows = rawRows(await knex.raw("SELECT name, tbl_name AS tbl FROM sqlite_master WHERE type = 'trigger' ORDER BY tbl_name, name"));
    const out: CatalogTrigger[] = [];
    for (const r of rows) {
      const name = String(r.name);
      if (!name.startsWith(prefix)) continue;
      const table = String(r.tbl);
      out.push({ name, table, columns: (await columns(knex, table)) ?? [], enabled: true });
    }
    return out;
  },

  async status(knex, t): Promise<TriggerStatus> {
    return (await exists(knex, t)) ? 'present' : 'missing';
  },

  columns,
};
