import type { ModelMeta } from '../model-meta';
import { triggerVersionStrategy } from './trigger-version-strategy';
import type { VersionStrategy } from './version-strategy';
import { clockVersionStrategy, counterVersionStrategy, noVersionStrategy } from './written-version-strategy';

const BY_KIND = { clock: clockVersionStrategy, counter: counterVersionStrategy, trigger: triggerVersionStrategy } as const;

/** The version rule of a model, by the kind of its version field. */
export function versionStrategyFor(meta: ModelMeta): VersionStrategy {
  const version = meta.version;
  return version === undefined ? noVersionStrategy : BY_KIND[version.field.versionKind];
}
