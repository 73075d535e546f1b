/**
 * Runs `fn` and returns everything written to stdout and stderr meanwhile
 * (console.log, console.warn, Knex's default logger, a driver's own
 * prints), so a spec can assert that a failure printed nothing on its own.
 */
export async function captureOutput(fn: () => Promise<void>): Promise<string> {
  const out = process.stdout.write;
  const err = process.stderr.write;
  let text = '';
  const capture = (chunk: unknown, ...rest: unknown[]): boolean => {
    text += String(chunk);
    const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    cb?.();
    return true;
  };
  process.stdout.write = capture as typeof process.stdout.write;
  process.stderr.write = capture as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return text;
}
