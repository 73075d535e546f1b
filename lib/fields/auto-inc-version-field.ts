import { VersionField, type VersionKind } from './version-field';

/**
 * A version that starts at 1 and is incremented by the database itself
 * (`SET version = version + 1`), so it can never go backwards.
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), version: new AutoIncVersionField() };
 * ```
 */
export class AutoIncVersionField extends VersionField {
  initialVersion(): number {
    return 1;
  }

  readonly versionKind: VersionKind = 'counter';
}
