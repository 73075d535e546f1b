import type { Knex } from 'knex';
import { DialectAdapterBase, DriverQueryObject, ExecResult } from './dialect-adapter';
import { postgresVersionTriggers } from './postgres-version-triggers';

interface PgResult {
  rowCount: number | null;
  rows: Record<string, unknown>[];
}

/** PostgreSQL through node-postgres (`pg`). */
export class PostgresAdapter extends DialectAdapterBase {
  readonly name = 'postgres' as const;
  override readonly supportsReturning = true;
  override readonly supportsTransactionalDdl = true;
  // NAMEDATALEN - 1: longer names are silently truncated, so triggers could collide.
  override readonly maxIdentifierLength = 63;
  override readonly versionTriggers = postgresVersionTriggers;

  static configFromUrl(url: string): Knex.Config {
    return { client: 'pg', connection: url, pool: { min: 0, max: 10 } };
  }

  normalize(obj: DriverQueryObject): ExecResult {
    const r = obj.response as PgResult;
    return DialectAdapterBase.result(r.rowCount ?? 0, r.rows);
  }
}
