import type { Knex } from 'knex';
import type { DialectName } from './dialect-adapter';

/** What a live column can hold, in terms every dialect shares. */
export type ColumnKind =
  | 'int16'
  | 'int32'
  | 'int64'
  | 'float32'
  | 'float64'
  | 'decimal'
  | 'string'
  | 'text'
  | 'boolean'
  | 'datetime'
  | 'date'
  | 'json'
  | 'other';

/** One column of a live table, normalised across dialects. */
export interface LiveColumn {
  readonly name: string;
  /** The database's own type name, for messages (`character varying`, `tinyint(1)`, `float`). */
  readonly type: string;
  readonly kind: ColumnKind;
  /** Characters a `string` column holds, when the database enforces a limit. */
  readonly length?: number;
  /** Fractional second digits a `datetime` column keeps, when the database says. */
  readonly precision?: number;
  readonly nullable: boolean;
}

/** SQLite: the declared type decides the affinity; lengths are never enforced and every INTEGER is 8 bytes. */
function sqliteKind(declared: string): Pick<LiveColumn, 'kind'> {
  const t = declared.toLowerCase();
  if (t === 'boolean') return { kind: 'boolean' };
  if (t === 'json' || t === 'jsonb') return { kind: 'json' };
  if (/^(datetime|timestamp)/.test(t)) return { kind: 'datetime' };
  if (t === 'date') return { kind: 'date' };
  if (t.includes('int')) return { kind: 'int64' };
  if (/char|clob|text/.test(t)) return { kind: 'text' };
  // REAL affinity is always an 8-byte float, whatever the declared name.
  if (/real|floa|doub/.test(t)) return { kind: 'float64' };
  if (/numeric|decimal/.test(t)) return { kind: 'decimal' };
  return { kind: 'other' };
}

/** Runs one catalog read and resolves its rows (Knex's own runner by default). */
export type CatalogRead = (query: Knex.QueryBuilder | Knex.Raw) => Promise<readonly Record<string, unknown>[]>;

const byKnex: CatalogRead = async (query) => (await query) as unknown as Record<string, unknown>[];

async function sqliteColumns(knex: Knex, table: string, read: CatalogRead): Promise<LiveColumn[]> {
  const rows = (await read(knex.raw('select name, type, "notnull" as nn from pragma_table_info(?)', [table]))) as unknown as { name: string; type: string; nn: number }[];
  return rows.map((r) => ({ name: r.name, type: r.type.toLowerCase() || '(none)', nullable: r.nn === 0, ...sqliteKind(r.type) }));
}

const PG_KINDS: Record<string, ColumnKind> = {
  smallint: 'int16',
  integer: 'int32',
  bigint: 'int64',
  real: 'float32',
  'double precision': 'float64',
  numeric: 'decimal',
  text: 'text',
  boolean: 'boolean',
  'timestamp with time zone': 'datetime',
  'timestamp without time zone': 'datetime',
  date: 'date',
  json: 'json',
  jsonb: 'json',
};

async function postgresColumns(knex: Knex, table: string, read: CatalogRead): Promise<LiveColumn[]> {
  const rows = (await read(knex('information_schema.columns')
    .select('column_name', 'data_type', 'character_maximum_length', 'datetime_precision', 'is_nullable')
    // The table the connection's queries name: resolved by the search_path
    // (a temporary table, a schema later in the path), not current_schema() only.
    .whereRaw('(table_schema, table_name) = (SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(?))', [
      `"${table.replace(/"/g, '""')}"`,
    ]))) as unknown as {
    column_name: string;
    data_type: string;
    character_maximum_length: number | null;
    datetime_precision: number | null;
    is_nullable: string;
  }[];
  return rows.map((r) => {
    const varying = r.data_type === 'character varying' || r.data_type === 'character';
    const kind: ColumnKind = varying ? (r.character_maximum_length === null ? 'text' : 'string') : (PG_KINDS[r.data_type] ?? 'other');
    return {
      name: r.column_name,
      type: r.data_type,
      kind,
      nullable: r.is_nullable === 'YES',
      ...(kind === 'string' ? { length: Number(r.character_maximum_length) } : {}),
      ...(kind === 'datetime' && r.datetime_precision !== null ? { precision: Number(r.datetime_precision) } : {}),
    };
  });
}

const MYSQL_KINDS: Record<string, ColumnKind> = {
  tinyint: 'int16',
  smallint: 'int16',
  mediumint: 'int32',
  int: 'int32',
  bigint: 'int64',
  float: 'float32',
  double: 'float64',
  decimal: 'decimal',
  varchar: 'string',
  char: 'string',
  tinytext: 'string',
  // TEXT holds 64 KB; MariaDB reports its JSON type as LONGTEXT (with a JSON_VALID check).
  text: 'text',
  mediumtext: 'text',
  longtext: 'text',
  datetime: 'datetime',
  timestamp: 'datetime',
  date: 'date',
  json: 'json',
};

async function mysqlColumns(knex: Knex, table: string, read: CatalogRead): Promise<LiveColumn[]> {
  const rows = (await read(knex('information_schema.COLUMNS')
    .select({ name: 'COLUMN_NAME', type: 'DATA_TYPE', full: 'COLUMN_TYPE', len: 'CHARACTER_MAXIMUM_LENGTH', prec: 'DATETIME_PRECISION', nullable: 'IS_NULLABLE' })
    .where({ TABLE_NAME: table })
    .andWhereRaw('TABLE_SCHEMA = DATABASE()'))) as unknown as { name: string; type: string; full: string; len: number | string | null; prec: number | null; nullable: string }[];
  return rows.map((r) => {
    const type = String(r.type).toLowerCase();
    // Knex's boolean() is TINYINT(1) on MySQL.
    const kind: ColumnKind = /^tinyint\(1\)/i.test(r.full) ? 'boolean' : (MYSQL_KINDS[type] ?? 'other');
    return {
      name: r.name,
      type: String(r.full).toLowerCase(),
      kind,
      nullable: r.nullable === 'YES',
      ...(kind === 'string' ? { length: Number(r.len) } : {}),
      ...(kind === 'datetime' && r.prec !== null ? { precision: Number(r.prec) } : {}),
    };
  });
}

/**
 * The columns of `table` as the database has them, by name; `undefined` when
 * the table does not exist. Reads the catalog only, by `read` (Knex's runner
 * unless given: the library's own passes the rows by no `postProcessResponse` hook).
 */
export async function inspectColumns(knex: Knex, dialect: DialectName, table: string, read: CatalogRead = byKnex): Promise<ReadonlyMap<string, LiveColumn> | undefined> {
  const columns = dialect === 'sqlite' ? await sqliteColumns(knex, table, read) : dialect === 'postgres' ? await postgresColumns(knex, table, read) : await mysqlColumns(knex, table, read);
  if (columns.length === 0) return undefined;
  return new Map(columns.map((c) => [c.name, c]));
}
