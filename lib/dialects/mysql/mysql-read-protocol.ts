import type { StatementToRun } from '../dialect-adapter';

// mysql2's column types that the binary protocol reads to the same values as
// the text protocol, or more exactly (checked value for value, edge values
// of every type, under timezone 'Z' and an offset, supportBigNumbers,
// bigNumberStrings and decimalNumbers). DOUBLE is the "more exactly": MariaDB
// prints a double with 16 significant digits, so about 4 in 100 of the
// values a program writes (906.8960017813603) read back as text as their
// neighbour (906.8960017813604); the binary protocol sends the 8 bytes.
// Left out: FLOAT (4), which the text protocol prints with six digits
// (1234567.891 reads 1234570) and the binary one sends as float32
// (1234567.875), so a load would change what an existing column reads as;
// TIME (11), whose fractional digits differ; DATE (10, 14), whose zero date
// differs; the old DECIMAL (0) and GEOMETRY (255), unchecked.
const BINARY_READS_ALIKE = new Set([
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

// Texts kept on the text protocol, per database; the oldest is forgotten past this.
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
 * load of model instances keep up with Knex's plain rows, and reads doubles
 * exactly. But the two do not read every column type alike (see
 * BINARY_READS_ALIKE): an answer with another type is read again on the
 * text protocol, and its text stays there from then on, so that a column
 * reads the same way on every run of a statement (a FLOAT column reads as
 * Knex reads it). Every binary answer is checked, so a column altered since
 * (to FLOAT, say) sends its texts back to the text protocol.
 *
 * Connection options that the two protocols apply differently (a
 * `typeCast` function or `false`, `dateStrings`, `rowsAsArray`) keep every
 * read on the text protocol, as do driver options on the query and more
 * values than a prepared statement takes.
 */
export class MysqlReadProtocol {
  // Texts whose last answer had a column the binary protocol reads otherwise.
  readonly #textOnly = new Set<string>();

  // Texts the server does not prepare (1295): it never will.
  readonly #neverPrepared = new Set<string>();

  /** Whether `stmt`, a SELECT, runs prepared on `connection` (mysql2's). */
  binary(stmt: StatementToRun, connection: object): boolean {
    const sql = stmt.sql;
    if (stmt.bindings.length > MAX_PARAMETERS || hasOptions(stmt.options) || this.#textOnly.has(sql) || this.#neverPrepared.has(sql)) return false;
    const config = (connection as ConnectionOptions).config;
    return config !== undefined && config.typeCast === true && !config.dateStrings && !config.rowsAsArray;
  }

  /**
   * Records what the answer to `sql` (mysql2's `[rows, fields]`) says about
   * its column types; returns whether the binary protocol reads them alike.
   */
  learn(sql: string, response: unknown): boolean {
    const fields = (response as [unknown, unknown] | undefined)?.[1];
    if (!Array.isArray(fields)) return true;
    for (const f of fields as ColumnDefinition[]) {
      if (!BINARY_READS_ALIKE.has(f.columnType as number)) {
        this.refuse(sql);
        return false;
      }
    }
    this.#textOnly.delete(sql);
    return true;
  }

  /** Keeps `sql` on the text protocol until an answer to it shows only types both protocols read alike. */
  refuse(sql: string): void {
    remember(this.#textOnly, sql);
  }

  /**
   * Records the server's refusal to prepare `sql` (see `refusedToPrepare`):
   * a statement it does not prepare (1295) stays on the text protocol; one
   * refused for the server's statement limit (1461) is tried again on its
   * next run, when there may be room.
   */
  refusedToPrepare(sql: string, err: unknown): void {
    if ((err as { errno?: unknown } | null)?.errno === 1295) remember(this.#neverPrepared, sql);
    else this.refuse(sql);
  }
}

/** Adds `sql` to `texts`, forgetting the oldest past MAX_TEXTS (its next run is read twice, once). */
function remember(texts: Set<string>, sql: string): void {
  if (texts.has(sql)) return;
  if (texts.size >= MAX_TEXTS) texts.delete(texts.values().next().value as string);
  texts.add(sql);
}
