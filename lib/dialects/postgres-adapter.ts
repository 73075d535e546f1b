import type { Knex } from 'knex';
import { DialectAdapterBase, DriverQueryObject, ExecResult, KnexClientQuery, StatementToRun } from './dialect-adapter';

interface PgResult {
  rowCount: number | null;
  rows: Record<string, unknown>[];
}

// One name per SQL text for the whole process: pools of several Database
// objects may share connections (one Knex passed to connect() twice), and a
// connection must never see one name for two texts.
const statementNames = new Map<string, string>();
let statementCount = 0;

function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (name === undefined) statementNames.set(sql, (name = `knex_concurrency_${++statementCount}`));
  return name;
}

/**
 * A kept statement the server can no longer run as it was prepared: a
 * column it returns changed type ("cached plan must not change result
 * type"), or the session lost it (`DISCARD ALL`). node-postgres would send
 * the same name again and fail on every call.
 */
function isLostStatement(err: unknown): boolean {
  const e = err as { code?: string; message?: string } | null;
  if (e?.code === '26000') return true;
  return e?.code === '0A000' && /cached plan must not change result type/.test(e.message ?? '');
}

/** PostgreSQL through node-postgres (`pg`). */
export class PostgresAdapter extends DialectAdapterBase {
  readonly name = 'postgres' as const;
  override readonly supportsReturning = true;
  override readonly supportsTransactionalDdl = true;
  // NAMEDATALEN - 1: longer names are silently truncated, so triggers could collide.
  override readonly maxIdentifierLength = 63;
  override readonly arrayRowsOption = Object.freeze({ rowMode: 'array' });

  static configFromUrl(url: string): Knex.Config {
    return { client: 'pg', connection: url, pool: { min: 0, max: 10 } };
  }

  /**
   * Runs the library's statements as named prepared statements: Knex's pg
   * client passes `options` on to node-postgres, which parses a name once
   * per connection, so the server skips parsing and planning afterwards.
   */
  override async run(client: KnexClientQuery, connection: object, stmt: StatementToRun): Promise<DriverQueryObject> {
    if (stmt.prepare === false) return super.run(client, connection, stmt);
    const obj = this.queryObject(stmt);
    obj.options = { name: statementName(stmt.sql) };
    try {
      return await client.query(connection, obj);
    } catch (err) {
      // The next call prepares the text under a new name, on every connection.
      if (isLostStatement(err) && statementNames.get(stmt.sql) === obj.options.name) statementNames.delete(stmt.sql);
      throw err;
    }
  }

  normalize(obj: DriverQueryObject): ExecResult {
    const r = obj.response as PgResult;
    return DialectAdapterBase.result(r.rowCount ?? 0, r.rows);
  }
}
