import type { Knex } from 'knex';
import { UsageError } from '../../errors';
import { CatalogTrigger, rawRows, splitTable, TriggerStatus, VersionTriggerDialect, VersionTriggerTarget } from '../version-trigger-dialect';

const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

// SQLSTATE of the division that `returningGuard` makes fail.
const DIVISION_BY_ZERO = '22012';

/** The table's schema and name as the catalog has them (search_path applied), or `undefined`. */
async function resolve(knex: Knex, table: string): Promise<{ schema: string; name: string } | undefined> {
  const [schema, bare] = splitTable(table);
  const regclass = schema === undefined ? q(bare) : `${q(schema)}.${q(bare)}`;
  const rows = rawRows(
    await knex.raw('SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(?)', [regclass]),
  );
  return rows[0] === undefined ? undefined : { schema: String(rows[0].schema), name: String(rows[0].name) };
}

async function triggerState(knex: Knex, schema: string, table: string, name: string): Promise<string | undefined> {
  const rows = rawRows(
    await knex.raw('SELECT t.tgenabled AS enabled FROM pg_trigger t WHERE t.tgrelid = to_regclass(?) AND t.tgname = ?', [`${q(schema)}.${q(table)}`, name]),
  );
  return rows[0] === undefined ? undefined : String(rows[0].enabled);
}

// 'O' fires in normal sessions, 'A' always; 'D' is disabled and 'R' fires only on replicas.
const fires = (state: string): boolean => state === 'O' || state === 'A';

/**
 * Version triggers on PostgreSQL: a BEFORE UPDATE trigger sets NEW.version
 * to OLD.version + 1, so `UPDATE ... RETURNING` sees the new version. Each
 * trigger has its own function, in the table's schema (function names are
 * per schema, trigger names per table, so neither can collide).
 */
export const postgresVersionTriggers: VersionTriggerDialect = {
  // RETURNING sees what a BEFORE trigger wrote. `1 / (new - held)` fails the
  // statement when the version did not move; it depends on the row, so the
  // planner cannot fold it into an error up front.
  returningGuard: (col) => `${col}, 1 / (${col} - ?) AS kc_version_moved`,
  isGuardFailure: (err) => {
    const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
    return e?.code === DIVISION_BY_ZERO || e?.cause?.code === DIVISION_BY_ZERO;
  },

  async create(knex, t) {
    return knex.transaction(async (trx) => {
      const rel = await resolve(trx, t.table);
      if (rel === undefined) throw new UsageError(`createVersionTrigger(): there is no table ${t.table}; create the table first`);
      // Two processes creating the same trigger at once would race on the function.
      await trx.raw('SELECT pg_advisory_xact_lock(hashtext(?))', [`${rel.schema}.${t.name}`]);
      if ((await triggerState(trx, rel.schema, rel.name, t.name)) !== undefined) return false;
      const fn = `${q(rel.schema)}.${q(t.name)}`;
      const col = q(t.column);
      await trx.raw(
        `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql AS $kc$\n` +
          `BEGIN\n  -- knex-concurrency version trigger: the version rises by 1 on every UPDATE\n  NEW.${col} := COALESCE(OLD.${col}, 0) + 1;\n  RETURN NEW;\nEND\n$kc$`,
      );
      await trx.raw(`CREATE TRIGGER ${q(t.name)} BEFORE UPDATE ON ${q(rel.schema)}.${q(rel.name)} FOR EACH ROW EXECUTE FUNCTION ${fn}()`);
      return true;
    });
  },

  async drop(knex, t) {
    return knex.transaction(async (trx) => {
      const rel = await resolve(trx, t.table);
      const schema = rel?.schema ?? splitTable(t.table)[0] ?? String(rawRows(await trx.raw('SELECT current_schema() AS s'))[0]!.s);
      const had = rel !== undefined && (await triggerState(trx, rel.schema, rel.name, t.name)) !== undefined;
      if (rel !== undefined) await trx.raw(`DROP TRIGGER IF EXISTS ${q(t.name)} ON ${q(rel.schema)}.${q(rel.name)}`);
      await trx.raw(`DROP FUNCTION IF EXISTS ${q(schema)}.${q(t.name)}()`);
      return had;
    });
  },

  async list(knex, prefix) {
    const rows = rawRows(
      await knex.raw(
        `SELECT t.tgname AS name, n.nspname AS schema, c.relname AS tbl, t.tgenabled AS enabled, n.nspname = current_schema() AS current,
                ARRAY(SELECT a.attname FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum)::text[] AS columns
           FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE NOT t.tgisinternal AND left(t.tgname, ?) = ?
          ORDER BY n.nspname, c.relname, t.tgname`,
        [prefix.length, prefix],
      ),
    );
    return rows.map(
      (r): CatalogTrigger => ({
        name: String(r.name),
        table: r.current === true ? String(r.tbl) : `${String(r.schema)}.${String(r.tbl)}`,
        columns: (r.columns as string[]).map(String),
        enabled: fires(String(r.enabled)),
      }),
    );
  },

  async columns(knex, table) {
    const rel = await resolve(knex, table);
    if (rel === undefined) return undefined;
    const rows = rawRows(
      await knex.raw('SELECT a.attname AS name FROM pg_attribute a WHERE a.attrelid = to_regclass(?) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum', [
        `${q(rel.schema)}.${q(rel.name)}`,
      ]),
    );
    return rows.map((r) => String(r.name));
  },

  async status(knex, t): Promise<TriggerStatus> {
    const rel = await resolve(knex, t.table);
    const state = rel === undefined ? undefined : await triggerState(knex, rel.schema, rel.name, t.name);
    if (state === undefined) return 'missing';
    return fires(state) ? 'present' : 'disabled';
  },
};
