import { UsageError } from '../errors';
import { TriggerVersionField } from '../fields/trigger-version-field';
import { Model } from '../model';
import { metaOf } from '../model-registry';
import { versionTriggerName } from '../dialects/version-trigger-name';
import { InstalledVersionTrigger, listVersionTriggers, TriggerConnection, triggerSupport, triggerTarget } from './version-triggers';

/** A model class, or a table and its version column (and a name for messages), whose trigger should exist. */
export type TriggerSubject = (abstract new () => Model) | { readonly table: string; readonly column: string; readonly model?: string };

/** A version trigger that is not as it should be. */
export interface VersionTriggerProblem {
  /**
   * - `missing`: a `TriggerVersionField`'s trigger does not exist: its saves fail, raw UPDATEs do not bump it;
   * - `disabled`: it exists but does not fire (PostgreSQL);
   * - `removed`: a migration run removed it (a table rebuild);
   * - `orphaned`: it matches no column of its table (the column or table was renamed, or the column dropped).
   */
  readonly kind: 'missing' | 'disabled' | 'removed' | 'orphaned';
  readonly table: string;
  readonly column: string | null;
  readonly trigger: string;
  /** The model whose field needs it, when checked for models. */
  readonly model?: string;
  /** What happened and what to do. */
  readonly message: string;
}

/** @internal A trigger to check or create, and the model that needs it. */
export interface TriggerTargetOf {
  readonly table: string;
  readonly column: string;
  readonly model?: string;
}

/** @internal The tables and columns of `subjects` whose versions a trigger keeps; models with another version field are left out. */
export function triggerTargetsOf(subjects: readonly TriggerSubject[]): TriggerTargetOf[] {
  const out: TriggerTargetOf[] = [];
  for (const s of subjects) {
    if (typeof s === 'function') {
      if (!(s.prototype instanceof Model)) throw new UsageError(`${s.name || 'a class'} is not a model class`);
      const meta = metaOf(s);
      if (meta.version?.field instanceof TriggerVersionField) out.push({ table: meta.table, column: meta.version.column, model: meta.modelName });
    } else {
      triggerTarget(s?.table, s?.column, 'checkVersionTriggers');
      out.push(s.model === undefined ? { table: s.table, column: s.column } : { table: s.table, column: s.column, model: s.model });
    }
  }
  return out;
}

const createHint = (table: string, column: string): string =>
  `createVersionTrigger(knex, '${table}', '${column}') in a migration, or run: bin/migrate triggers create --table ${table} --column ${column}`;

function orphaned(t: InstalledVersionTrigger): VersionTriggerProblem {
  return {
    kind: 'orphaned',
    table: t.table,
    column: null,
    trigger: t.name,
    message:
      `version trigger ${t.name} on ${t.table} matches no column of the table (was the version column or the table renamed, or the column dropped?). ` +
      `It may fail every UPDATE of ${t.table}; drop it (bin/migrate triggers drop --table ${t.table} --column <its old column>, or DROP TRIGGER ${t.name}) and create the trigger for the current column.`,
  };
}

/**
 * Checks that the version trigger of every `TriggerVersionField` among
 * `subjects` (model classes, or `{ table, column }`) exists and fires.
 * Without subjects, checks the triggers this package created: none may be
 * disabled or orphaned. Resolves the problems found; none means all is well.
 *
 * @example
 * ```ts
 * const problems = await checkVersionTriggers(db, [Account, Invoice]);
 * if (problems.length > 0) throw new Error(problems.map((p) => p.message).join('\n'));
 * ```
 */
export async function checkVersionTriggers(knex: TriggerConnection, subjects?: readonly TriggerSubject[]): Promise<VersionTriggerProblem[]> {
  const support = triggerSupport(knex, 'checkVersionTriggers');
  if (subjects === undefined) {
    const problems: VersionTriggerProblem[] = [];
    for (const t of await listVersionTriggers(knex)) {
      if (t.column === null) problems.push(orphaned(t));
      else if (!t.enabled) problems.push(disabled(t.table, t.column, t.name));
    }
    return problems;
  }
  const problems: VersionTriggerProblem[] = [];
  for (const target of triggerTargetsOf(subjects)) {
    const name = versionTriggerName(target.table, target.column);
    const status = await support.dialect.status(support.knex, { ...target, name });
    const who = target.model === undefined ? '' : `${target.model} (TriggerVersionField): `;
    if (status === 'missing') {
      problems.push({
        kind: 'missing',
        ...target,
        trigger: name,
        message: `${who}version trigger ${name} on ${target.table}.${target.column} is missing: saves fail with MissingTriggerError and raw UPDATEs do not raise the version. Create it: ${createHint(target.table, target.column)}.`,
      });
    } else if (status === 'disabled') {
      problems.push({ ...disabled(target.table, target.column, name), ...(target.model === undefined ? {} : { model: target.model }) });
    }
  }
  return problems;
}

function disabled(table: string, column: string, name: string): VersionTriggerProblem {
  return {
    kind: 'disabled',
    table,
    column,
    trigger: name,
    message: `version trigger ${name} on ${table}.${column} is disabled: saves fail with MissingTriggerError and raw UPDATEs do not raise the version. Enable it: ALTER TABLE ${table} ENABLE TRIGGER ${name}.`,
  };
}

/**
 * For a migration runner: compares the version triggers after a run with
 * `before`, the result of `listVersionTriggers(knex)` taken before it. A
 * trigger whose table still exists but which is gone was removed by the
 * run (SQLite's `.alter()` and some `dropColumn`s rebuild the table without
 * its triggers); one that no longer matches a column is orphaned. Tables
 * the run dropped are fine.
 *
 * @example
 * ```ts
 * const before = await listVersionTriggers(knex);
 * await knex.migrate.latest();
 * const problems = await checkTriggersAfterMigration(knex, before);
 * for (const p of problems) console.error(p.message);
 * if (problems.length > 0) process.exitCode = 1;
 * ```
 */
export async function checkTriggersAfterMigration(knex: TriggerConnection, before: readonly InstalledVersionTrigger[]): Promise<VersionTriggerProblem[]> {
  if (!Array.isArray(before)) throw new UsageError('checkTriggersAfterMigration() takes the result of listVersionTriggers(knex) taken before the migrations ran');
  const support = triggerSupport(knex, 'checkTriggersAfterMigration');
  const after = await listVersionTriggers(knex);
  const problems: VersionTriggerProblem[] = [];
  for (const t of before) {
    if (t.column === null || after.some((a) => a.name === t.name && a.table === t.table)) continue;
    // A dropped table or version column took its trigger with it, as it should.
    const columns = await support.dialect.columns(support.knex, t.table);
    if (columns === undefined || !columns.includes(t.column)) continue;
    problems.push({
      kind: 'removed',
      table: t.table,
      column: t.column,
      trigger: t.name,
      message:
        `the migrations removed version trigger ${t.name} from ${t.table} (a table rebuild, such as SQLite's .alter() or dropColumn, drops triggers): ` +
        `${t.table}.${t.column} no longer rises on UPDATE and saves of its TriggerVersionField fail. Add ${createHint(t.table, t.column)} after the change.`,
    });
  }
  // Only what this run left orphaned: older orphans are `triggers check`'s business.
  for (const t of after) if (t.column === null && !before.some((b) => b.name === t.name && b.column === null)) problems.push(orphaned(t));
  return problems;
}
