import knexFactory from 'knex';

/**
 * Creates (if needed) a database on the local PostgreSQL or MySQL/MariaDB
 * server and returns its URL. Shared by the specs, the stress harness and the
 * bench, which each work in a database of their own on the same servers.
 */

export const PG_ADMIN_URL = process.env.PG_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const MYSQL_ADMIN_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** `url` with its path pointing at `database`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

export async function ensurePostgresDatabase(database: string, timeoutMs: number, adminUrl = PG_ADMIN_URL): Promise<string> {
  const admin = knexFactory({ client: 'pg', connection: { connectionString: adminUrl, connectionTimeoutMillis: timeoutMs }, pool: { min: 0, max: 1 } });
  try {
    const found = await admin.raw('SELECT 1 FROM pg_database WHERE datname = ?', [database]);
    if (found.rows.length === 0) {
      await admin.raw(`CREATE DATABASE "${database}"`).catch((err: { code?: string }) => {
        if (err.code !== '42P04' && err.code !== '23505') throw err; // created meanwhile by a parallel process
      });
    }
  } finally {
    await admin.destroy();
  }
  return withDatabase(adminUrl, database);
}

export async function ensureMysqlDatabase(database: string, timeoutMs: number, adminUrl = MYSQL_ADMIN_URL): Promise<string> {
  const u = new URL(adminUrl);
  const admin = knexFactory({
    client: 'mysql2',
    connection: { host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username || 'root'), password: decodeURIComponent(u.password), connectTimeout: timeoutMs },
    pool: { min: 0, max: 1 },
  });
  try {
    // A binary collation: the specs compare text byte for byte.
    await admin.raw(`CREATE DATABASE IF NOT EXISTS \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  } finally {
    await admin.destroy();
  }
  return withDatabase(adminUrl, database);
}
