import { UsageError, ValidationError } from '../errors';
import { IntegerField } from '../fields/integer-field';
import type { Model } from '../model';
import { metaOf } from '../model-registry';
import type { ModelClass } from '../model-types';
import { StaleSelectionError, type StaleRow } from './http-errors';

/** One `"pk,version"` entry, parsed. */
interface Selected {
  readonly pk: unknown;
  readonly version: number;
}

const FIELD = 'selection';

function parseSelection(Model_: ModelClass<Model>, selection: unknown): Selected[] {
  const meta = metaOf(Model_);
  const model = meta.modelName;
  const entries = typeof selection === 'string' ? [selection] : selection;
  if (!Array.isArray(entries)) throw new ValidationError(model, FIELD, 'expected a list of "pk,version" entries', selection);
  if (entries.length === 0) throw new ValidationError(model, FIELD, 'is empty: select at least one row');
  const byKey = new Map<string, Selected>();
  for (const entry of entries as unknown[]) {
    const m = typeof entry === 'string' ? /^([^,]+),(0|[1-9][0-9]{0,15})$/.exec(entry.trim()) : null;
    if (m === null) throw new ValidationError(model, FIELD, `${JSON.stringify(entry)} is not a "pk,version" entry (e.g. "12,3")`, entry);
    // Posted keys are text; an integer key is compared as a number.
    const raw = meta.pk.field instanceof IntegerField ? Number(m[1]) : m[1];
    let pk: unknown;
    try {
      pk = meta.pk.field.clean(raw, model, meta.pk.name);
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      throw new ValidationError(model, FIELD, `${JSON.stringify(entry)} does not start with a valid ${meta.pk.name}: ${err.message}`, entry);
    }
    const version = Number(m[2]);
    const key = String(pk);
    const seen = byKey.get(key);
    if (seen !== undefined && seen.version !== version) throw new ValidationError(model, FIELD, `row ${key} is selected twice, at versions ${seen.version} and ${version}`, entry);
    byKey.set(key, { pk, version });
  }
  return [...byKey.values()];
}

/**
 * Runs a bulk action on rows a page showed as `"pk,version"` pairs (as
 * django-concurrency's admin actions post them), only if none of them
 * changed since. In one transaction, the rows are read with a row lock
 * (`FOR UPDATE`; SQLite's write transaction), so none can change between
 * the check and the action; each instance holds the posted version, so every
 * `save()` or `delete()` of the action is still a compare-and-swap on it. If
 * any row is stale or deleted, the action does not run and
 * `StaleSelectionError` (409) names every such row; if the action throws,
 * everything it wrote is rolled back.
 *
 * @example
 * ```ts
 * // <input type="checkbox" name="selection" value="12,3">
 * await guardSelection(Product, req.body.selection, async (products) => {
 *   for (const p of products) { p.price = Math.round(p.price * 90) / 100; await p.save(); }
 * });
 * ```
 */
export async function guardSelection<T extends Model, R>(Model_: ModelClass<T>, selection: unknown, action: (instances: T[]) => Promise<R> | R): Promise<R> {
  if (typeof action !== 'function') throw new UsageError('guardSelection() takes the action to run as its third argument');
  const meta = metaOf(Model_);
  const version = meta.version;
  if (version === undefined) throw new UsageError(`guardSelection(): ${meta.modelName} has no version field to guard the selection with`);
  const selected = parseSelection(Model_ as unknown as ModelClass<Model>, selection);
  const db = Model_.database();
  return db.transaction(async () => {
    const rows = await Model_.query()
      .whereIn(meta.pk.name as never, selected.map((s) => s.pk) as never)
      .forUpdate()
      .all();
    const byKey = new Map(rows.map((r) => [String((r as unknown as Record<string, unknown>)[meta.pk.name]), r]));
    const stale: StaleRow[] = [];
    const instances: T[] = [];
    for (const s of selected) {
      const row = byKey.get(String(s.pk));
      const actual = row === undefined ? null : ((row as unknown as Record<string, unknown>)[version.name] as number);
      if (actual !== s.version) stale.push({ pk: s.pk, expectedVersion: s.version, actualVersion: actual });
      else instances.push(row!);
    }
    if (stale.length > 0) throw new StaleSelectionError(meta.modelName, stale);
    return action(instances);
  });
}
