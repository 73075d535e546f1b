import type { StatementToRun } from '../dialect-adapter';

// mysql2's column types whose values read back identical in the text and
// the binary protocol with mysql2's default conversions (checked value for
// value, edge values of every type, under timezone 'Z' and an offset,
// supportBigNumbers, bigNumberStrings and decimalNumbers). Left out: FLOAT
// (4), which the text protocol prints with six digits (1234567.891 reads
// 1234570) and the binary one sends as float32 (1234567.875); TIME (11),
// whose fractional digits differ; DATE (10, 14), whose zero date differs;
// the old DECIMAL (0) and GEOMETRY (255), unchecked.
const SAME_IN_BOTH = new Set([
  1, // TINY
  2, // SHORT
  3, // LONG
  5, // DOUBLE
  6, // NULL
  7, // TIMESTAMP
  8, // LONGLONG
  9, // INT24
  12, // DATETIME
  13, // YEAR
  15, // VARCHAR
  16, // BIT
  245, // JSON
  246, // NEWDECIMAL
  247, // ENUM
  248, // SET
  249, // TINY_BLOB
  250, // MEDIUM_BLOB
  251, // LONG_BLOB
  252, // BLOB
  253, // VAR_STRING
  254, // STRING
]);

// The protocol's limit on placeholders in a prepared statement.
const MAX_PARAMETERS = 65535;

// Texts remembered per database; the oldest is forgotten past this.
const MAX_TEXTS = 1000;

interface ConnectionOptions {
  readonly config?: { readonly typeCast?: unknown; readonly dateStrings?: unknown; readonly rowsAsArray?: unknown };
}

interface ColumnDefinition {
  readonly columnType?: unknown;
}

// Driver options (nestTables...) apply to the text protocol only.
function hasOptions(options: StatementToRun['options']): boolean {
  if (options !== undefined) for (const _ in options) return true;
  return false;
}

/**
 * Decides which protocol each of the library's SELECTs runs on. mysql2's
 * binary protocol (`execute()`, a server-side prepared statement) parses a
 * row about 1.6 times faster than the text protocol, which is what lets a
 * load of model instances keep up with Knex's plain rows. But the two do
 * not read every column type alike (see SAME_IN_BOTH), so a text runs on the
 * text protocol first, and the column types of its answer decide whether
 * the next runs may go binary. A binary answer whose types no longer
 * qualify (the column was altered since) is read again on the text
 * protocol, and that text stays there.
 *
 * A text run once is therefore never prepared: an ad hoc query costs no
 * PREPARE and takes no place among a connection's kept statements.
 * Connection options that the two protocols apply differently (a
 * `typeCast` function or `false`, `dateStrings`, `rowsAsArray`) keep every
 * read on the text protocol.
 */
export class MysqlReadProtocol {
  // true: the last answer's types read alike in both protocols.
  readonly #texts = new Map<string, boolean>();

  /** Whether `stmt`, a SELECT, runs prepared on `connection` (mysql2's). */
  binary(stmt: StatementToRun, connection: object): boolean {
    if (this.#texts.get(stmt.sql) !== true || stmt.bindings.length > MAX_PARAMETERS || hasOptions(stmt.options)) return false;
    const config = (connection as ConnectionOptions).config;
    return config !== undefined && config.typeCast === true && !config.dateStrings && !config.rowsAsArray;
  }

  /**
   * Records what the answer to `sql` (mysql2's `[rows, fields]`) says about
   * its column types; returns whether they read alike in both protocols.
   */
  learn(sql: string, response: unknown): boolean {
    const fields = (response as [unknown, unknown] | undefined)?.[1];
    if (!Array.isArray(fields)) return false;
    let same = true;
    for (const f of fields as ColumnDefinition[]) {
      if (!SAME_IN_BOTH.has(f.columnType as number)) {
        same = false;
        break;
      }
    }
    const texts = this.#texts;
    if (texts.get(sql) !== same) {
      if (!texts.has(sql) && texts.size >= MAX_TEXTS) texts.delete(texts.keys().next().value as string);
      texts.set(sql, same);
    }
    return same;
  }

  /** Keeps `sql` on the text protocol (the server would not prepare it). */
  refuse(sql: string): void {
    this.#texts.set(sql, false);
  }
}
