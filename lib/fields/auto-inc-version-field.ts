import { nextClockVersion } from './version-clock';
import { VersionField, VersionWrite } from './version-field';

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

  updateVersion(column: string, held: number | undefined): VersionWrite {
    return { set: `${column} + 1`, bindings: [], next: held === undefined ? undefined : held + 1 };
  }
}
