import type { BatchAccess, PreparedUpdate } from './batch-access';
import { BatchConflictError, UsageError } from './errors';
import { serialized } from './instance-queue';
import { databaseOf } from './model-binding';
import { checkedMeta } from './model-registry';
import { batchUpdate, type BatchRow } from './persistence/batch-update';
import { schemaAtFirstUse } from './schema-at-first-use';

/** Options of `Model.saveAll()`. */
export interface SaveAllOptions {
  /**
   * `true` (the default): all or nothing; one refused row and nothing is
   * written. `false`: every row that still holds its version is written,
   * and the refused ones are reported.
   */
  atomic?: boolean;
}

const KNOWN_OPTIONS = new Set(['atomic']);

/**
 * `Model.saveAll()`: see there. Holds every instance's write queue for the
 * whole batch (a `save()` of one of them waits, and the batch waits for one
 * already in flight), takes what each would write, writes them together,
 * then tells each instance its outcome.
 */
export async function saveAll(cls: Function, instances: unknown, options: unknown, access: BatchAccess): Promise<void> {
  const meta = checkedMeta(cls);
  const what = `${meta.modelName}.saveAll()`;
  const atomic = atomicOption(what, options);
  const list = instanceList(cls, meta.modelName, what, instances);
  if (list.length === 0) return;
  const db = databaseOf(cls);
  const release = await holdAll(list);
  try {
    const targets: object[] = [];
    const writes: PreparedUpdate[] = [];
    for (const m of list) {
      const write = access.prepareUpdate(m, db, meta);
      if (write === undefined) continue;
      targets.push(m);
      writes.push(write);
    }
    if (writes.length === 0) return;
    const rows: BatchRow[] = writes.map((w, i) => ({ target: targets[i]!, pk: w.pk, changed: w.changed, values: w.values, policy: w.policy }));
    const session = db.session(what);
    try {
      const first = schemaAtFirstUse(db, meta, session);
      if (first !== undefined) await first;
      const outcome = await batchUpdate(db, session, meta, rows, atomic);
      let saved = 0;
      rows.forEach((_, i) => {
        if (!outcome.written[i]) return;
        access.finishUpdate(targets[i]!, db, session, meta, writes[i]!, outcome.versions[i]);
        saved++;
      });
      if (outcome.conflicts.length === 0) return;
      const index = new Map(targets.map((t, i) => [t, i]));
      const conflicts = outcome.conflicts.map((err) => access.reportConflict(err.target, db, meta, err, writes[index.get(err.target)!]!));
      throw new BatchConflictError({ model: meta.modelName, conflicts, atomic, savedCount: saved, changedCount: rows.length });
    } finally {
      session.end();
    }
  } finally {
    release();
  }
}

/**
 * Waits until no write of any of `instances` is in flight, and keeps the
 * later ones waiting until `release()`. Every instance is queued at once, in
 * one synchronous loop, so two batches sharing instances queue in the same
 * order on each and never wait for each other in a circle.
 */
export function holdAll(instances: readonly object[]): Promise<() => void> {
  let release!: () => void;
  const done = new Promise<void>((resolve) => (release = resolve));
  const started = instances.map((m) => new Promise<void>((resolve) => void serialized(m, () => (resolve(), done))));
  return Promise.all(started).then(() => release);
}

function atomicOption(what: string, options: unknown): boolean {
  if (options === undefined) return true;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new UsageError(`${what} takes an array of instances and optionally { atomic: boolean }`);
  for (const key of Object.keys(options)) if (!KNOWN_OPTIONS.has(key)) throw new UsageError(`${what}: unknown option ${JSON.stringify(key)} (it takes { atomic: boolean })`);
  const atomic = (options as SaveAllOptions).atomic;
  if (atomic === undefined) return true;
  if (typeof atomic !== 'boolean') throw new UsageError(`${what}: atomic must be true or false, not ${String(atomic)}`);
  return atomic;
}

/** The instances as an array of distinct instances of exactly this model (a subclass may map other fields). */
function instanceList(cls: Function, model: string, what: string, instances: unknown): object[] {
  if (!Array.isArray(instances)) throw new UsageError(`${what} takes an array of ${model} instances`);
  const seen = new Set<object>();
  for (const m of instances) {
    if (m === null || typeof m !== 'object' || (m as object).constructor !== cls) {
      const got = m === null || typeof m !== 'object' ? String(m) : `a ${(m as object).constructor?.name ?? 'plain object'}`;
      throw new UsageError(`${what} takes ${model} instances only (save other models with their own saveAll()), got ${got}`);
    }
    if (seen.has(m)) throw new UsageError(`${what}: the same ${model} instance is in the list twice; pass each instance once`);
    seen.add(m);
  }
  return [...seen];
}
