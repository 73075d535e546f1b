import { UsageError, ValidationError } from '../errors';
import type { FieldBinding, ModelMeta } from '../model-meta';
import { isOverridden, type Scope } from '../transactions/scope';

/** How one write treats the version. */
export interface VersionPolicy {
  /** The version the instance holds (`undefined` for a model without a version field). */
  readonly held: number | undefined;
  /** `false` to write without the compare-and-swap (`disableConcurrency`). */
  readonly check: boolean;
  /** `false` to leave the version as it is; the check still applies. */
  readonly increment: boolean;
}

const UNVERSIONED: VersionPolicy = Object.freeze({ held: undefined, check: false, increment: false });

/**
 * How a write of `instance` (holding `version`) treats the version, given
 * the model's options and the scope's overrides; for an update, `changed`
 * decides whether a conditional version rises. Refuses, before any SQL, a
 * write that cannot keep its promise.
 */
export function versionPolicy(meta: ModelMeta, scope: Scope | undefined, instance: object, version: unknown, changed?: readonly FieldBinding[]): VersionPolicy {
  const field = meta.version;
  if (field === undefined) return UNVERSIONED;
  const held = field.field.clean(version, meta.modelName, field.name);
  if (held === null) throw new ValidationError(meta.modelName, field.name, 'a saved instance needs a version number to check', held);
  const checkOff = !meta.concurrency.check || (scope !== undefined && isOverridden(scope, 'check', instance));
  const incrementOff = scope !== undefined && isOverridden(scope, 'increment', instance);
  if (changed === undefined) return { held, check: !checkOff, increment: !incrementOff };
  if (incrementOff && !field.field.canSkipIncrement) {
    throw new UsageError(
      `${meta.modelName}.${field.name} is raised by a database trigger on every UPDATE, so disableIncrement() cannot apply to it; ` +
        `nothing was written. Save it outside disableIncrement(), or limit that to other models: disableIncrement(OtherModel, fn)`,
    );
  }
  const increment = !incrementOff && meta.concurrency.increment && field.field.incrementsFor(changed);
  return { held, check: !checkOff, increment };
}
