import type { Database } from '../database';
import { UsageError } from '../errors';
import { Model } from '../model';
import { metaOf } from '../model-registry';

/** A field whose column would not store its values faithfully. */
export interface FieldColumnProblem {
  readonly model: string;
  readonly field: string;
  readonly table: string;
  readonly column: string;
  /** The column's type as the database reports it (`real`, `float`...), or `undefined` when the column is missing. */
  readonly type: string | undefined;
  /** What is wrong and what to do. */
  readonly message: string;
}

/**
 * Reads the column types of the models' tables and reports each field whose
 * column would change its values: a `FloatField` on a `real` (PostgreSQL)
 * or `float(8,2)` (MySQL, Knex's `t.float()`) column, a field whose column
 * does not exist. One catalog read per table; nothing is changed. Run it in
 * a deployment check (`bin/migrate columns check --models ./models.js` does).
 *
 * @example
 * ```ts
 * for (const p of await checkFieldColumns(db, [Product, Order])) console.warn(p.message);
 * ```
 */
export async function checkFieldColumns(db: Database, models: readonly (abstract new () => Model)[]): Promise<FieldColumnProblem[]> {
  const problems: FieldColumnProblem[] = [];
  for (const cls of models) {
    if (typeof cls !== 'function' || !(cls.prototype instanceof Model)) throw new UsageError('checkFieldColumns() takes model classes');
    const meta = metaOf(cls);
    const info = (await db.knex(meta.table).columnInfo()) as unknown as Record<string, { type: string }>;
    const byLowerName = new Map(Object.entries(info).map(([name, c]) => [name.toLowerCase(), c]));
    for (const f of meta.fields) {
      const column = info[f.column] ?? byLowerName.get(f.column.toLowerCase());
      const base = { model: meta.modelName, field: f.name, table: meta.table, column: f.column };
      if (column === undefined) {
        problems.push({ ...base, type: undefined, message: `${meta.modelName}.${f.name}: ${meta.table} has no column ${f.column}` });
        continue;
      }
      const problem = f.field.columnProblem(column.type, db.adapter);
      if (problem !== undefined) problems.push({ ...base, type: column.type, message: `${meta.modelName}.${f.name} (${meta.table}.${f.column}): ${problem}` });
    }
  }
  return problems;
}
