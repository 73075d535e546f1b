import { constants as bufferConstants } from 'node:buffer';
import type { PackedColumn, PackedRead, PackedRows } from '../packed-rows';

/**
 * The SQLite build whose rendering of doubles was checked (bit patterns,
 * prices, subnormals, 7M values): `printf('%!.18g', x)` round-trips every
 * finite double through `Number()`. Older builds print 15 or 16 digits.
 */
const CHECKED_VERSION = 3052000;

/**
 * The text SQLite must render for one hard double, checked in every packed
 * result. SQLite's `CAST(x AS TEXT)` renders this one as 0.44119950050699
 * (its 17-digit form shortens the text when its own, inexact, parser reads
 * the shorter one back as the same double: about 1 value in 100,000 comes
 * back as a neighbour); 18 digits leave no room for that.
 */
const PROBE_VALUE = 0.44119950050698997;
const PROBE_SQL = `printf('%!.18g', ${String(PROBE_VALUE)})`;

/**
 * The most arguments an SQL function takes in the checked build
 * (SQLITE_MAX_FUNCTION_ARG): a row's `json_array` has one per column.
 */
const MAX_COLUMNS = 1000;

/**
 * SQLite's refusal of a function of the packing with more arguments than a
 * lowered SQLITE_LIMIT_FUNCTION_ARG allows (a row's `json_array` takes one per
 * column, `printf` two). The driver's text ends the message: Knex puts the
 * statement and its values before it, and a value may hold these words.
 */
const TOO_MANY_ARGUMENTS = /SQLITE_ERROR: too many arguments on function (?:json_array|printf|json_group_array|typeof|hex)$/;

const OPEN_BRACKET = 0x5b;

const ROWS = 'kc_rows';
const PROBE = 'kc_probe';

/** A REAL as exact text (18 significant digits; `Inf`, `-Inf`). */
const exactReal = (label: string): string => `printf('%!.18g', ${label})`;

/**
 * One value of a row as a JSON element, losing nothing: a value of the
 * column's usual class is the element itself; any other becomes a tagged
 * pair that `untag` reads back (`["r", "0.1"]`, `["t", "text"]`, `["b",
 * "00ff"]`). JSON renders REALs with 15 digits and refuses BLOBs, and
 * SQLite's dynamic typing lets any column hold either (other SQL wrote it).
 * A float column's REALs are strings (one element, no pair per row).
 */
function element(c: PackedColumn): string {
  const v = c.label;
  const blob = `WHEN 'blob' THEN json_array('b', hex(${v}))`;
  return c.floatingPoint
    ? `CASE typeof(${v}) WHEN 'real' THEN ${exactReal(v)} WHEN 'text' THEN json_array('t', ${v}) ${blob} ELSE ${v} END`
    : `CASE typeof(${v}) WHEN 'real' THEN json_array('r', ${exactReal(v)}) ${blob} ELSE ${v} END`;
}

/** A REAL's text as the double node-sqlite3 would have handed back. */
function real(text: string): number {
  if (text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  const n = Number(text);
  if (Number.isNaN(n)) throw new Unpackable();
  return n;
}

/** A tagged element (see `element`) as the value node-sqlite3 would have handed back. */
function untag(pair: unknown): unknown {
  const [tag, text] = pair as [string, string];
  if (tag === 'r') return real(text);
  if (tag === 't') return text;
  if (tag === 'b') return Buffer.from(text, 'hex');
  throw new Unpackable();
}

/** A packed result this code does not understand: the select then runs as it is. */
class Unpackable extends Error {}

/**
 * Builds the loop that turns the parsed rows into driver values in place,
 * one line per column (see `compileHydrator` for why it is generated): a
 * float column's strings are REALs, any column's arrays are tagged values.
 */
function compileUnpack(columns: readonly PackedColumn[]): (rows: unknown[][]) => void {
  const lines = columns.map((c, i) => {
    const tagged = `if (typeof v === 'object' && v !== null) row[${i}] = untag(v);`;
    return c.floatingPoint ? `    v = row[${i}]; if (typeof v === 'string') row[${i}] = real(v); else ${tagged}` : `    v = row[${i}]; ${tagged}`;
  });
  const source = `return function unpack(rows) {\n  for (let r = 0; r < rows.length; r++) {\n    const row = rows[r];\n    let v;\n${lines.join('\n')}\n  }\n};`;
  return new Function('real', 'untag', source)(real, untag) as (rows: unknown[][]) => void;
}

/**
 * SQLite's packed reads: SQLite builds one JSON document of the whole
 * result (`json_group_array` of a `json_array` per row), handed over as a
 * BLOB (a Buffer: no N-API string to build, nor its length limit) and
 * parsed by `JSON.parse`, about twice as fast as node-sqlite3's rows, which
 * it builds property by property through N-API.
 *
 * The rows keep the select's order: SQLite keeps the ORDER BY of a
 * FROM-subquery under an aggregate other than count/min/max (it neither
 * flattens that subquery nor drops its ORDER BY), so the aggregate sees the
 * rows in order. The values are those node-sqlite3 hands back: integers
 * beyond 2^53 round to the nearest double in `JSON.parse` as in its int64
 * conversion, REALs travel as exact text, BLOBs as hex, text as JSON strings
 * (invalid UTF-8 decodes to U+FFFD as in the driver, which uses the same
 * decoder).
 */
export class SqlitePackedRows implements PackedRows {
  /**
   * Set when this database cannot be packed as checked: a result's probe came
   * back inexact, its text is UTF-16, or its connections take fewer function
   * arguments than a select's width. It then reads rows as they are.
   */
  #refused = false;

  usableWith(client: object): boolean {
    if (this.#refused) return false;
    const version = (client as { driver?: { VERSION_NUMBER?: unknown } }).driver?.VERSION_NUMBER;
    return typeof version === 'number' && version >= CHECKED_VERSION;
  }

  read(columns: readonly PackedColumn[]): PackedRead | undefined {
    if (columns.length > MAX_COLUMNS) return undefined;
    const list = columns.map(element).join(', ');
    const unpackRows = compileUnpack(columns);
    const width = columns.length;
    const refuse = (): void => {
      this.#refused = true;
    };
    return {
      wrap: (select) => `SELECT CAST(json_group_array(json_array(${list})) AS BLOB) AS ${ROWS}, ${PROBE_SQL} AS ${PROBE} FROM (${select})`,
      unpack(result) {
        const packed = result[0];
        if (packed === undefined) return undefined;
        const probe = packed[PROBE];
        if (typeof probe !== 'string' || Number(probe) !== PROBE_VALUE) {
          refuse();
          return undefined;
        }
        const doc = packed[ROWS];
        // Past V8's longest string the decoding would throw: the driver's rows have no such limit.
        if (!Buffer.isBuffer(doc) || doc.length > bufferConstants.MAX_STRING_LENGTH) return undefined;
        // A BLOB cast from text holds the database's encoding: a UTF-16 database's
        // document is not UTF-8 (its '[' is followed by a NUL byte), and never will be.
        if (doc[0] !== OPEN_BRACKET || doc[1] === 0) {
          refuse();
          return undefined;
        }
        try {
          const rows = JSON.parse(doc.toString('utf8')) as unknown[][];
          if (!Array.isArray(rows) || (rows.length > 0 && rows[0]!.length !== width)) return undefined;
          unpackRows(rows);
          return rows;
        } catch {
          // Out of memory for the string, or a value this code does not know: the plain rows are still right.
          return undefined;
        }
      },
      fallsBackOn(err) {
        const e = err as { code?: unknown; message?: unknown } | null;
        // SQLITE_TOOBIG: the document would pass SQLite's longest string or blob (SQLITE_LIMIT_LENGTH).
        if (e?.code === 'SQLITE_TOOBIG') return true;
        // The connection's function-argument limit was lowered below this select's width: it stays so.
        if (e?.code === 'SQLITE_ERROR' && typeof e.message === 'string' && TOO_MANY_ARGUMENTS.test(e.message)) {
          refuse();
          return true;
        }
        return false;
      },
    };
  }
}
