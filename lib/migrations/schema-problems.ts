import { columnCall, FieldColumn } from './field-column';

/** A difference between the models and the live database. */
export interface SchemaProblem {
  /**
   * - `missing-table`: the model's table does not exist;
   * - `missing-column`: a field has no column;
   * - `lossy-column`: the column cannot hold every value of its field (too narrow, wrong type, NOT NULL for a nullable field);
   * - `trigger`: a `TriggerVersionField`'s trigger is missing or disabled.
   */
  readonly kind: 'missing-table' | 'missing-column' | 'lossy-column' | 'trigger';
  readonly model: string;
  readonly table: string;
  readonly column?: string;
  /** What is wrong and the migration code that fixes it. */
  readonly message: string;
}

/** @internal One model's table compared with the database: what `make --models` writes from. */
export interface TableDiff {
  readonly model: string;
  readonly table: string;
  /** Every field with a column, in declaration order, deduplicated by column. */
  readonly fields: readonly FieldColumn[];
  readonly exists: boolean;
  readonly missing: readonly FieldColumn[];
  readonly lossy: readonly { readonly field: FieldColumn; readonly why: string }[];
  /** Columns of the table that no model's field uses. */
  readonly extra: readonly string[];
  /** The version column, when a trigger keeps it and the trigger is missing. */
  readonly triggerMissing: string | undefined;
  readonly triggerDisabled: string | undefined;
}

const call = (f: FieldColumn): string => columnCall(f) ?? `t.specificType('${f.column}', '<type>') /* ${f.field.constructor.name}: choose a column type */`;

/** @internal The problems of one table's diff, each with the migration code that fixes it. */
export function schemaProblems(d: TableDiff): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const base = { model: d.model, table: d.table };
  if (!d.exists) {
    problems.push({
      ...base,
      kind: 'missing-table',
      message: `${d.model}: table ${d.table} does not exist; create it in a migration (migrate make create_${d.table} --models <module> writes it): knex.schema.createTable('${d.table}', (t) => { ${d.fields.map(call).join('; ')}; })`,
    });
  } else {
    for (const f of d.missing) {
      problems.push({
        ...base,
        kind: 'missing-column',
        column: f.column,
        message: `${d.model}.${f.name}: column ${d.table}.${f.column} does not exist; add it in a migration (migrate make --models <module> writes it): knex.schema.alterTable('${d.table}', (t) => { ${call(f)}; })`,
      });
    }
    for (const { field: f, why } of d.lossy) {
      problems.push({
        ...base,
        kind: 'lossy-column',
        column: f.column,
        message: `${d.model}.${f.name}: column ${d.table}.${f.column} ${why}; change it in a migration: knex.schema.alterTable('${d.table}', (t) => { ${call(f)}.alter(); })`,
      });
    }
  }
  for (const [column, state] of [[d.triggerMissing, 'missing'], [d.triggerDisabled, 'disabled']] as const) {
    if (column === undefined) continue;
    problems.push({
      ...base,
      kind: 'trigger',
      column,
      message: `${d.model}: the version trigger of ${d.table}.${column} is ${state}; ${state === 'missing' ? `createVersionTrigger(knex, '${d.table}', '${column}') in a migration` : `ALTER TABLE ${d.table} ENABLE TRIGGER ALL`}`,
    });
  }
  return problems;
}
