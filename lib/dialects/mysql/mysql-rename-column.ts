interface KnexTableCompiler {
  renameColumn(from: string, to: string): void;
  pushQuery(sql: string): void;
  tableName(): string;
  formatter: { wrap(value: string): string };
}

/**
 * Knex's MySQL renameColumn() rebuilds the column from `SHOW FULL FIELDS`
 * with `CHANGE`, writing its default back as a quoted string: an expression
 * default (the version column's clock, `addVersionColumn`) becomes a string
 * and the migration fails. `RENAME COLUMN` (MariaDB 10.5.2, MySQL 8.0) keeps
 * the column's definition, default, collation and foreign keys as they are.
 */
export function renameColumnInPlace<C extends object>(compiler: C): C {
  const c = compiler as unknown as KnexTableCompiler;
  c.renameColumn = function renameColumn(this: KnexTableCompiler, from: string, to: string): void {
    this.pushQuery(`alter table ${this.tableName()} rename column ${this.formatter.wrap(from)} to ${this.formatter.wrap(to)}`);
  };
  return compiler;
}
