/** One column of a packed read: the label a select gives it, and what its values are. */
export interface PackedColumn {
  /** The column's label in the select being packed, already quoted. */
  readonly label: string;
  /** The field holds floating-point numbers (see `Field.floatingPoint`): the database's float type is its usual one. */
  readonly floatingPoint: boolean;
}

/**
 * A read of one select's rows packed into a single value, built once per
 * model (see `PackedRows.read`).
 */
export interface PackedRead {
  /** The statement that reads the rows of `select` (a SELECT that labels its columns as given) as one value. */
  wrap(select: string): string;
  /**
   * The rows, as arrays in column order, from the wrapped statement's result
   * rows; `undefined` when the result cannot be unpacked here: run the
   * select as it is.
   */
  unpack(result: readonly Record<string, unknown>[]): unknown[][] | undefined;
  /** Whether the wrapped statement's failure means: run the select as it is (a limit only the packed value meets). */
  fallsBackOn(err: unknown): boolean;
}

/**
 * How a database hands a whole result set over as one value, where that is
 * cheaper for its driver than building a row at a time (node-sqlite3 builds
 * each row object property by property through N-API; one JSON document
 * parsed by `JSON.parse` costs about half as much). The unpacked rows hold
 * exactly the values the driver's own rows would: a packed read that cannot
 * promise that for some result says `undefined`, and the select runs as it is.
 */
export interface PackedRows {
  /** Whether reads through this Knex client may be packed (a driver whose database cannot render them exactly may not). */
  usableWith(client: object): boolean;
  /** The packed read of a select of `columns`, in this order; `undefined` when the packing cannot hold that many. */
  read(columns: readonly PackedColumn[]): PackedRead | undefined;
}
