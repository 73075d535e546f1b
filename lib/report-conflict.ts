import { ConflictReport } from './conflict-report';
import type { Database } from './database';
import { RecordDeletedError, RecordModifiedError, withConflictReport } from './errors';
import { instanceFromValues } from './instance-from-values';
import type { FieldBinding, ModelMeta } from './model-meta';

type Values = Record<string, unknown>;

// The row the write path read after a write matched nothing (hydrated; null
// when gone), kept for the model to build the report from: persistence knows
// the row, the model knows what the instance loaded and tried.
const currentRows = new WeakMap<RecordModifiedError, Values | null>();

/** @internal Called by persistence with the row it read to classify the conflict. */
export function noteCurrentRow(err: RecordModifiedError, row: Values | null): void {
  currentRows.set(err, row);
}

/** What the instance tried: its write (`changed`, taken when the save started), or `null` for a delete. */
export interface Attempt {
  readonly changed: readonly FieldBinding[];
  /** The values written, in the order of `changed` (snapshots for mutable fields). */
  readonly written: readonly unknown[];
}

function fromSnapshot(f: FieldBinding, v: unknown): unknown {
  return f.field.mutable ? f.field.fromSnapshot(v) : v;
}

/** Fresh values for a new instance: mutable values copied, so the report's stay as they were. */
function copyValues(meta: ModelMeta, values: Values): Values {
  const out: Values = {};
  for (const f of meta.fields) {
    const v = values[f.name];
    out[f.name] = f.field.mutable && v !== null && v !== undefined ? f.field.fromSnapshot(f.field.snapshot(v as never)) : v;
  }
  return out;
}

/**
 * @internal Gives a conflict raised by `save()` or `delete()` its report,
 * from the instance's values and dirty-tracking baseline (`orig`: the value
 * each changed field had when loaded; snapshots for mutable fields) and the
 * row persistence read; then counts it and tells the database's listeners.
 */
export function reportConflict(
  db: Database,
  cls: new () => object,
  meta: ModelMeta,
  err: RecordModifiedError,
  values: Values,
  orig: Values | undefined,
  attempt: Attempt | null,
): RecordModifiedError {
  if (currentRows.has(err) && err.conflictReport === undefined) {
    const original = copyValues(meta, values);
    if (orig !== undefined) for (const f of meta.fields) if (f.name in orig) original[f.name] = fromSnapshot(f, orig[f.name]);
    let attempted: Values | null = null;
    if (attempt !== null) {
      attempted = { ...original };
      attempt.changed.forEach((f, i) => (attempted![f.name] = fromSnapshot(f, attempt.written[i])));
    }
    const current = currentRows.get(err) ?? null;
    const report = new ConflictReport({ meta, original, attempted, current, rebuild: (v) => instanceFromValues(cls, meta, copyValues(meta, v)) });
    withConflictReport(err, report);
  }
  const monitor = db.monitor;
  if (err instanceof RecordDeletedError) {
    monitor.deleted({ model: err.model, pk: err.pk, operation: err.operation, expectedVersion: err.expectedVersion });
  } else {
    monitor.conflict({ model: err.model, pk: err.pk, operation: err.operation, expectedVersion: err.expectedVersion, actualVersion: err.actualVersion, conflictingFields: err.conflictingFields });
  }
  return err;
}
