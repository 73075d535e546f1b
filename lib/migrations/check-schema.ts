import type { Database } from '../database';
import { inspectColumns } from '../dialects/column-inspector';
import { UsageError } from '../errors';
import { Model } from '../model';
import { metaOf } from '../model-registry';
import { checkVersionTriggers } from './check-version-triggers';
import { columnCall, columnProblem, FieldColumn } from './field-column';

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

type ModelClassValue = abstract new () => Model;

/** @internal Compares each model's table with the database; models sharing a table are merged. */
export async function diffSchema(db: Database, models: readonly ModelClassValue[]): Promise<TableDiff[]> {
  const byTable = new Map<string, { model: string; fields: FieldColumn[]; trigger?: string; subjects: ModelClassValue[] }>();
  for (const cls of models) {
    if (typeof cls !== 'function' || !(cls.prototype instanceof Model)) throw new UsageError(`${String((cls as { name?: string })?.name ?? cls)} is not a model class`);
    const meta = metaOf(cls);
    let entry = byTable.get(meta.table);
    if (entry === undefined) byTable.set(meta.table, (entry = { model: meta.modelName, fields: [], subjects: [] }));
    entry.subjects.push(cls);
    for (const f of meta.fields) if (!entry.fields.some((g) => g.column === f.column)) entry.fields.push(f);
  }
  const triggerProblems = await checkVersionTriggers(db, [...byTable.values()].flatMap((e) => e.subjects));
  const diffs: TableDiff[] = [];
  for (const [table, entry] of byTable) {
    const live = await inspectColumns(db.knex, db.dialect, table);
    const missing: FieldColumn[] = [];
    const lossy: { field: FieldColumn; why: string }[] = [];
    for (const f of entry.fields) {
      const column = live?.get(f.column);
      if (column === undefined) missing.push(f);
      else {
        const why = columnProblem(f, column);
        if (why !== undefined) lossy.push({ field: f, why });
      }
    }
    const used = new Set(entry.fields.map((f) => f.column));
    const trigger = (kind: string): string | undefined => triggerProblems.find((p) => p.table === table && p.kind === kind)?.column ?? undefined;
    diffs.push({
      model: entry.model,
      table,
      fields: entry.fields,
      exists: live !== undefined,
      missing: live === undefined ? entry.fields : missing,
      lossy,
      extra: live === undefined ? [] : [...live.keys()].filter((c) => !used.has(c)),
      triggerMissing: trigger('missing'),
      triggerDisabled: trigger('disabled'),
    });
  }
  return diffs;
}

const call = (f: FieldColumn): string => columnCall(f) ?? `t.specificType('${f.column}', '<type>') /* ${f.field.constructor.name}: choose a column type */`;

/**
 * Checks that every model's table and columns exist, that each column can
 * hold its field's values without loss (version columns wide enough,
 * doubles for floats, millisecond timestamps, long enough strings) and that
 * every `TriggerVersionField` has its trigger. Resolves the problems found,
 * each with the migration code that fixes it; an empty list means the
 * models and the database agree. Reads the catalog only.
 *
 * @example
 * ```ts
 * const problems = await checkSchema(db, [Product, Order]);
 * for (const p of problems) console.error(p.message);
 * ```
 */
export async function checkSchema(db: Database, models: readonly ModelClassValue[]): Promise<SchemaProblem[]> {
  const problems: SchemaProblem[] = [];
  for (const d of await diffSchema(db, models)) {
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
  }
  return problems;
}
