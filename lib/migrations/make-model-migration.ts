import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Database } from '../database';
import type { Model } from '../model';
import { diffSchema, TableDiff } from './check-schema';
import { columnCall, FieldColumn } from './field-column';
import { migrationFileName } from './make-migration';

/** What `make --models` found: the file it wrote (if any) and the changes left for a person. */
export interface ModelMigrationResult {
  readonly file: string | undefined;
  /** Live steps written into the migration. */
  readonly steps: readonly string[];
  /** Changes written only as comments (drops, narrowing, type changes), to review. */
  readonly review: readonly string[];
}

const q = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const indent = (lines: readonly string[], by: string): string => lines.map((l) => `${by}${l}`).join('\n');

function call(f: FieldColumn): string {
  return columnCall(f) ?? `t.specificType(${q(f.column)}, 'text'); // ${f.field.constructor.name} is not a field this command knows: choose the column type`;
}

interface Rendered {
  up: string[];
  down: string[];
  review: string[];
  imports: Set<string>;
  steps: string[];
}

function renderTable(d: TableDiff, out: Rendered): void {
  const version = d.fields.find((f) => call(f).startsWith('addVersionColumn'));
  if (version !== undefined) out.imports.add('addVersionColumn');
  if (!d.exists) {
    out.up.push(`await knex.schema.createTable(${q(d.table)}, (t) => {\n${indent(d.fields.map((f) => `${call(f)};`), '    ')}\n  });`);
    out.down.unshift(`await knex.schema.dropTable(${q(d.table)});`);
    out.steps.push(`create table ${d.table} (${d.model})`);
  } else if (d.missing.length > 0) {
    const notes = d.missing.filter((f) => !f.field.nullable && !f.field.hasDefault() && !call(f).startsWith('addVersionColumn') && !f.field.generated);
    const comment = notes.length > 0 ? [`// ${notes.map((f) => f.column).join(', ')}: NOT NULL without a default; on a table with rows, give the field a default or fill the column first`] : [];
    out.up.push(`await knex.schema.alterTable(${q(d.table)}, (t) => {\n${indent([...comment, ...d.missing.map((f) => `${call(f)};`)], '    ')}\n  });`);
    out.down.unshift(`await knex.schema.alterTable(${q(d.table)}, (t) => {\n${indent(d.missing.map((f) => `t.dropColumn(${q(f.column)});`), '    ')}\n  });`);
    out.steps.push(`add ${d.missing.map((f) => `${d.table}.${f.column}`).join(', ')} (${d.model})`);
  }
  if (d.triggerMissing !== undefined) {
    out.imports.add('createVersionTrigger').add('dropVersionTrigger');
    out.up.push(`await createVersionTrigger(knex, ${q(d.table)}, ${q(d.triggerMissing)});`);
    out.down.unshift(`await dropVersionTrigger(knex, ${q(d.table)}, ${q(d.triggerMissing)});`);
    out.steps.push(`create the version trigger of ${d.table}.${d.triggerMissing} (${d.model})`);
  }
  for (const { field: f, why } of d.lossy) {
    out.review.push(
      `${d.model}.${f.name}: ${d.table}.${f.column} ${why}. Changing a column's type can fail on existing values or lose them; on SQLite it rebuilds the table, which drops its triggers:\n` +
        `await knex.schema.alterTable(${q(d.table)}, (t) => { ${call(f)}.alter(); });`,
    );
  }
  for (const column of d.extra) {
    out.review.push(`${d.table}.${column} is no field of ${d.model}; drop it only once nothing reads it (the data is lost):\nawait knex.schema.alterTable(${q(d.table)}, (t) => { t.dropColumn(${q(column)}); });`);
  }
}

function source(r: Rendered): string {
  const lib = [...r.imports].sort();
  const review = r.review.length === 0 ? '' : `\n  // To review: changes that may lose data are left for a person to decide. Uncomment what you want.\n${r.review.map((item) => indent(item.split('\n'), '  // ')).join('\n  //\n')}\n`;
  return `import type { Knex } from 'knex';
${lib.length > 0 ? `import { ${lib.join(', ')} } from 'knex-concurrency';\n` : ''}
// Written by \`migrate make --models\` from the models and the live database. Check it before applying it.

export async function up(knex: Knex): Promise<void> {
${indent(r.up, '  ')}
${review}}

export async function down(knex: Knex): Promise<void> {
${indent(r.down, '  ')}
}
`;
}

/**
 * Compares `models` with the live database and writes a TypeScript migration,
 * `<timestamp>_<name>.ts`, that creates missing tables, adds missing columns
 * (with the column type each field needs) and creates missing version
 * triggers. Changes that may lose data (a narrower or different type, a
 * column no field uses) are written as commented steps for a person to
 * review, never as live code. With no live step to write, no file is written
 * (so a second run after `latest` writes nothing) and the review items are
 * returned.
 */
export async function makeModelMigration(
  db: Database,
  models: readonly (abstract new () => Model)[],
  directory: string,
  name: string,
  now = new Date(),
): Promise<ModelMigrationResult> {
  const rendered: Rendered = { up: [], down: [], review: [], imports: new Set(), steps: [] };
  for (const d of await diffSchema(db, models)) renderTable(d, rendered);
  if (rendered.steps.length === 0) return { file: undefined, steps: [], review: rendered.review };
  const file = path.join(path.resolve(directory), migrationFileName(name, now));
  await fs.mkdir(directory, { recursive: true });
  await fs.writeFile(file, source(rendered), { flag: 'wx' });
  return { file, steps: rendered.steps, review: rendered.review };
}
