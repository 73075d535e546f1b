import { nextClockVersion } from './version-clock';
import { VersionField, type VersionKind } from './version-field';

/**
 * A version computed in the application from a microsecond clock, as
 * django-concurrency's `IntegerVersionField` does. Every save writes a new
 * version strictly larger than the row's current one, so a version is never
 * reused for a row, even by writes whose check was disabled.
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), version: new IntegerVersionField() };
 * ```
 */
export class IntegerVersionField extends VersionField {
  initialVersion(): number {
    return nextClockVersion();
  }

  readonly versionKind: VersionKind = 'clock';
}
