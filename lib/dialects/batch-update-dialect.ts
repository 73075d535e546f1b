/** The quoted names a batched UPDATE is written with. */
export interface BatchTable {
  readonly table: string;
  readonly pk: string;
  readonly version: string;
  /** The changed columns, in binding order. */
  readonly columns: readonly string[];
}

/**
 * How a database writes many compare-and-swap updates of one shape (the
 * same changed columns) in one statement, for `saveAll()`. Each row binds,
 * in order: its key, the version it holds, the version it will hold, its
 * changed values; a chunk is padded with rows of NULLs, which match nothing.
 *
 * - `'returning'`: the statement checks every row against its own version
 *   and returns the keys of the rows it matched (column `k`), which tell the
 *   rows someone else changed or deleted (a batch holds each key once);
 * - `'locked'`: there is no RETURNING; the rows are first locked by a
 *   locking read of their versions (see `DialectAdapter.lockRowSuffix`),
 *   then the statement writes those that hold theirs, still checking them,
 *   and its matched-row count must be all of them.
 */
export interface BatchUpdateDialect {
  readonly kind: 'returning' | 'locked';
  /** The UPDATE of `size` rows. */
  updateSql(t: BatchTable, size: number): string;
}
