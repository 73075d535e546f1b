/**
 * A process-wide microsecond clock that never repeats and never goes back,
 * for `IntegerVersionField`. Microseconds since the epoch stay below
 * `Number.MAX_SAFE_INTEGER` until the year 2255.
 */
let last = 0;

export function nextClockVersion(): number {
  const now = Date.now() * 1000;
  last = now > last ? now : last + 1;
  return last;
}
