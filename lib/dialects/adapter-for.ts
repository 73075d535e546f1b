import type { Knex } from 'knex';
import { UsageError } from '../errors';
import { DialectAdapter } from './dialect-adapter';
import { GaleraAdapter } from './mysql/galera-adapter';
import { MysqlAdapter } from './mysql/mysql-adapter';
import { PostgresAdapter } from './postgres/postgres-adapter';
import { SqliteAdapter } from './sqlite/sqlite-adapter';
import { redactUrl } from '../redact-url';

type AdapterClass = (new () => DialectAdapter) & { configFromUrl(url: string): Knex.Config };

// Knex client dialect/driver names -> adapter. This is the one place that reads them.
const BY_CLIENT: Record<string, AdapterClass> = {
  sqlite3: SqliteAdapter,
  sqlite: SqliteAdapter,
  pg: PostgresAdapter,
  postgres: PostgresAdapter,
  postgresql: PostgresAdapter,
  mysql2: MysqlAdapter,
};

const BY_SCHEME: Record<string, AdapterClass> = {
  sqlite: SqliteAdapter,
  sqlite3: SqliteAdapter,
  postgres: PostgresAdapter,
  postgresql: PostgresAdapter,
  mysql: MysqlAdapter,
  mariadb: MysqlAdapter,
};

const SUPPORTED = 'sqlite3, pg or mysql2';

function lookup(name: string | undefined): AdapterClass | undefined {
  return name === undefined ? undefined : BY_CLIENT[name];
}

// Where servers that all take writes need an adapter of their own (connect({ nodes })).
const MULTI_PRIMARY = new Map<AdapterClass, new () => DialectAdapter>([[MysqlAdapter, GaleraAdapter]]);

/**
 * The adapter for a Knex config's `client` (a name or a client class);
 * `multiPrimary` for one node of a set that all take writes (a MySQL
 * client is then a Galera node).
 */
export function adapterForConfig(config: Knex.Config, multiPrimary = false): DialectAdapter {
  const client = config.client as unknown;
  const name =
    typeof client === 'string'
      ? client
      : typeof client === 'function'
        ? ((client as { prototype?: { driverName?: string; dialect?: string } }).prototype?.driverName ?? undefined)
        : undefined;
  const Adapter = lookup(name);
  if (!Adapter) throw new UsageError(`connect(): unsupported Knex client ${JSON.stringify(name ?? client)}; knex-concurrency supports ${SUPPORTED}`);
  requireDriver(Adapter);
  const Multi = multiPrimary ? MULTI_PRIMARY.get(Adapter) : undefined;
  return Multi === undefined ? new Adapter() : new Multi();
}

// The driver package each adapter's Knex client loads. They are optional peer
// dependencies, as Knex's own convention has it: an application installs the
// one it uses, so a PostgreSQL-only one never compiles sqlite3.
const DRIVERS = new Map<AdapterClass, { readonly driver: string; readonly database: string }>([
  [SqliteAdapter, { driver: 'sqlite3', database: 'SQLite' }],
  [PostgresAdapter, { driver: 'pg', database: 'PostgreSQL' }],
  [MysqlAdapter, { driver: 'mysql2', database: 'MySQL/MariaDB' }],
]);

/** Refuses, naming the package to install, a dialect whose driver the application has not installed. */
function requireDriver(Adapter: AdapterClass): void {
  const { driver, database } = DRIVERS.get(Adapter)!;
  try {
    require.resolve(driver);
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    throw new UsageError(`connect(): the ${database} driver is not installed; install it in your application: npm install ${driver}`, { cause: err });
  }
}

/** The adapter for a live Knex instance. */
export function adapterForKnex(knex: Knex): DialectAdapter {
  const client = knex.client as { driverName?: string; dialect?: string };
  const Adapter = lookup(client.driverName) ?? (client.driverName === undefined ? lookup(client.dialect) : undefined);
  if (!Adapter) throw new UsageError(`connect(): unsupported Knex client ${JSON.stringify(client.driverName ?? client.dialect)}; knex-concurrency supports ${SUPPORTED}`);
  return new Adapter();
}


/** The Knex config for a database URL. */
export function configForUrl(url: string): Knex.Config {
  const scheme = /^([a-z0-9+.-]+):/i.exec(url)?.[1]?.toLowerCase();
  const Adapter = scheme === undefined ? undefined : BY_SCHEME[scheme];
  if (!Adapter) {
    throw new UsageError(
      `connect(): cannot tell the database from "${redactUrl(url)}"; use sqlite:PATH, sqlite::memory:, postgres://user@host/db or mysql://user@host/db`,
    );
  }
  return Adapter.configFromUrl(url);
}
