import type { ColumnKind, LiveColumn } from '../dialects/column-inspector';
import type { DialectAdapter } from '../dialects/dialect-adapter';
import { AutoField } from '../fields/auto-field';
import { BooleanField } from '../fields/boolean-field';
import { CharField } from '../fields/char-field';
import { DateTimeField } from '../fields/date-time-field';
import type { Field } from '../fields/field';
import { FloatField } from '../fields/float-field';
import { IntegerField } from '../fields/integer-field';
import { JsonField } from '../fields/json-field';
import { TextField } from '../fields/text-field';
import { isVersionField } from '../fields/version-field';

/** A field and the column it is stored in. */
export interface FieldColumn {
  readonly name: string;
  readonly column: string;
  readonly field: Field;
}

const q = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

const INTEGERS: readonly ColumnKind[] = ['int32', 'int64'];

/** The Knex column call for a field, without nullability: the one the docs' field-to-column table gives. */
function baseCall(f: FieldColumn): string | undefined {
  const c = q(f.column);
  const field = f.field;
  if (isVersionField(field)) return `addVersionColumn(t, ${c})`;
  if (field instanceof AutoField) return `t.increments(${c})`;
  if (field instanceof IntegerField) return `t.integer(${c})`;
  if (field instanceof FloatField) return `t.double(${c})`;
  if (field instanceof CharField) return `t.string(${c}, ${field.maxLength})`;
  if (field instanceof TextField) return `t.text(${c})`;
  if (field instanceof BooleanField) return `t.boolean(${c})`;
  // Milliseconds, as a Date holds; without a precision MySQL keeps whole seconds.
  if (field instanceof DateTimeField) return `t.datetime(${c}, { precision: 3 })`;
  if (field instanceof JsonField) return `t.jsonb(${c})`;
  return undefined;
}

/**
 * The Knex column-builder statement that stores `f` (`t.string('name', 100).notNullable()`),
 * or `undefined` for a field class this library does not know (a custom field).
 */
export function columnCall(f: FieldColumn): string | undefined {
  const base = baseCall(f);
  if (base === undefined) return undefined;
  if (isVersionField(f.field) || f.field instanceof AutoField) return base;
  let call = `${base}${f.field.primaryKey ? '.primary()' : ''}${f.field.nullable ? '.nullable()' : '.notNullable()'}`;
  const d = f.field.options.default;
  if (!f.field.mutable && (typeof d === 'string' || typeof d === 'boolean' || (typeof d === 'number' && Number.isFinite(d)))) call += `.defaultTo(${typeof d === 'string' ? q(d) : String(d)})`;
  return call;
}

/**
 * Why `live` cannot hold every value of `f` without loss, or `undefined` when
 * it can; with `adapter`, what the field itself says of the column type on
 * that database (`Field.columnProblem`) is asked too.
 */
export function columnProblem(f: FieldColumn, live: LiveColumn, adapter?: DialectAdapter): string | undefined {
  const field = f.field;
  const is = `is ${live.type}`;
  let problem: string | undefined;
  if (isVersionField(field)) {
    if (live.kind !== 'int64') problem = `${is}, too narrow for versions: an IntegerVersionField's versions are microsecond clock values (about 1.8e15), which need a bigint`;
    else if (live.nullable) problem = `${is} and allows null; a version column must be NOT NULL`;
    return problem;
  }
  if (field instanceof AutoField || field instanceof IntegerField) {
    if (!INTEGERS.includes(live.kind)) problem = `${is}, not a column for integers`;
  } else if (field instanceof FloatField) {
    if (live.kind === 'float32') problem = `${is}, a 4-byte float, which loses digits (0.1 reads back as 0.10000000149011612): FloatField needs a double`;
    else if (live.kind !== 'float64') problem = `${is}, which does not hold every double (fractions or digits are lost): FloatField needs a double`;
  } else if (field instanceof CharField) {
    if (live.kind === 'string' && live.length !== undefined && live.length < field.maxLength) problem = `${is}(${live.length}), shorter than maxLength ${field.maxLength}`;
    else if (live.kind !== 'string' && live.kind !== 'text') problem = `${is}, not a text column`;
  } else if (field instanceof TextField) {
    if (live.kind === 'string') problem = `${is}${live.length === undefined ? '' : `(${live.length})`}, which limits the length; TextField has no limit: it needs a text column`;
    else if (live.kind !== 'text') problem = `${is}, not a text column`;
  } else if (field instanceof BooleanField) {
    if (live.kind !== 'boolean' && live.kind !== 'int16' && !INTEGERS.includes(live.kind)) problem = `${is}, not a boolean column`;
  } else if (field instanceof DateTimeField) {
    if (live.kind === 'date') problem = `${is}, which drops the time of day`;
    else if (live.kind !== 'datetime') problem = `${is}, not a timestamp column`;
    else if (live.precision !== undefined && live.precision < 3) problem = `${is} with ${live.precision} fractional digits: milliseconds would be lost`;
  } else if (field instanceof JsonField) {
    if (live.kind !== 'json' && live.kind !== 'text') problem = `${is}, not a JSON or text column`;
  }
  if (problem === undefined && field.nullable && !live.nullable && !(field instanceof AutoField)) problem = `${is} NOT NULL, but the field allows null`;
  // The type without its size or precision (`timestamp(3)`), as Knex's columnInfo() names it.
  if (problem === undefined && adapter !== undefined) problem = field.columnProblem(live.type.replace(/\(.*$/, ''), adapter);
  return problem;
}
