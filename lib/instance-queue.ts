// The write (or refresh) of each instance in flight; `null` once it settled.
// The entry stays: writing over it costs less than adding and deleting one
// on every save.
const inFlight = new WeakMap<object, Promise<void> | null>();

/**
 * Runs `op` on `instance` after any earlier `op` on it has settled, so that
 * two saves (or a save and a delete) of one instance never overlap: each
 * starts from the state the previous one left. The first runs at once,
 * synchronously up to its first await, as a plain call would.
 */
export function serialized<T>(instance: object, op: () => Promise<T>): Promise<T> {
  const prior = inFlight.get(instance);
  const run = prior === undefined || prior === null ? op() : prior.then(op);
  // One promise per call, not two: this runs once per save.
  const settle = (): void => {
    if (inFlight.get(instance) === tail) inFlight.set(instance, null);
  };
  const tail: Promise<void> = run.then(settle, settle);
  inFlight.set(instance, tail);
  return run;
}
