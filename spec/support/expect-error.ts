import { expect } from 'chai';

/** Awaits `action` (a promise or a function), expects it to fail with `cls`, and returns the error for further checks. */
export async function rejection<E extends Error>(action: Promise<unknown> | (() => unknown), cls: abstract new (...args: never[]) => E): Promise<E> {
  let outcome: { value: unknown } | { error: unknown };
  try {
    outcome = { value: await (typeof action === 'function' ? action() : action) };
  } catch (error) {
    outcome = { error };
  }
  if ('value' in outcome) expect.fail(`expected a ${cls.name}, but it succeeded with ${String(outcome.value)}`);
  const { error } = outcome;
  if (!(error instanceof cls)) {
    expect.fail(`expected a ${cls.name}, got ${(error as Error)?.constructor?.name}: ${(error as Error)?.message}`);
  }
  return error as E;
}
