import { VersionField, VersionWrite } from './version-field';

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

  updateVersion(column: string, held: number | undefined): VersionWrite {
    return { set: `${column} + 1`, bindings: [], next: held === undefined ? undefined : held + 1 };
  }
}
