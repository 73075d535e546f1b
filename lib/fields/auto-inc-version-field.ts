import { nextClockVersion } from './version-clock';
import { VersionField, type VersionKind } from './version-field';

/**
 * A version incremented by the database itself (`SET version = version + 1`),
 * so it can never go backwards. A new row starts from the microsecond clock
 * (`nextClockVersion()`), not from 1: a stale copy of a deleted row can then
 * never match a row later re-created with the same key (see
 * `nextClockVersion` for the exact bound).
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), version: new AutoIncVersionField() };
 * ```
 */
export class AutoIncVersionField extends VersionField {
  initialVersion(): number {
    return nextClockVersion();
  }

  readonly versionKind: VersionKind = 'counter';
}
