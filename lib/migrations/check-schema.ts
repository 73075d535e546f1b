import type { Database } from '../database';
import { inspectColumns } from '../dialects/column-inspector';
import { UsageError } from '../errors';
import { Model } from '../model';
import { metaOf } from '../model-registry';
import { checkVersionTriggers } from './check-version-triggers';
import { columnProblem, FieldColumn } from './field-column';
import { schemaProblems, type SchemaProblem, type TableDiff } from './schema-problems';

export type { SchemaProblem, TableDiff } from './schema-problems';

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
        const why = columnProblem(f, column, db.adapter);
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
  return (await diffSchema(db, models)).flatMap(schemaProblems);
}
