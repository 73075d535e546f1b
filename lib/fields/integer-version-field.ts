import { nextClockVersion } from './version-clock';
import { VersionField, VersionWrite } from './version-field';

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

  updateVersion(column: string, held: number | undefined): VersionWrite {
    const clock = nextClockVersion();
    if (held !== undefined) {
      // The WHERE clause pins the row at `held`, so max(clock, held + 1) is strictly larger.
      const next = clock > held ? clock : held + 1;
      return { set: '?', bindings: [next], next };
    }
    return { set: `CASE WHEN ${column} < ? THEN ? ELSE ${column} + 1 END`, bindings: [clock, clock], next: undefined };
  }
}
