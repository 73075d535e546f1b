/**
 * A process-wide microsecond clock that never repeats and never goes back.
 * `IntegerVersionField` writes it on every save; `AutoIncVersionField`,
 * `ConditionalVersionField` and `TriggerVersionField` start each new row from
 * it and then count +1 per save. Microseconds since the epoch stay below
 * `Number.MAX_SAFE_INTEGER` until the year 2255.
 *
 * Why new rows start from the clock: if every row started at 1, a stale copy
 * of a deleted row (holding, say, version 3) would match a row re-created
 * later with the same key once that one reached version 3 (the ABA problem),
 * and its save or delete would overwrite the new row.
 *
 * The bound: an earlier incarnation of a row created at time t0 holds
 * versions from t0 (in microseconds) to t0 + n after n saves; a later one,
 * created at t1, starts at t1. A stale copy can match the later one only if
 * n >= t1 - t0, i.e. the first incarnation was saved more times than
 * microseconds passed between the two creations (a million saves for every
 * second), less any amount by which the clock of the process (or database)
 * that re-created the row runs behind the one that created the first.
 */
let last = 0;

export function nextClockVersion(): number {
  const now = Date.now() * 1000;
  last = now > last ? now : last + 1;
  return last;
}
