import type { Knex } from 'knex';

/** Where the racy read-back is about to read. */
export interface RacyReadBack {
  readonly knex: Knex;
  readonly table: string;
  readonly column: string;
  readonly pk: unknown;
  /** The version the row had when our update matched it. */
  readonly held: number;
}

/**
 * @internal A test hook, not part of the API (`lib/index.ts` does not export
 * it). When `racy` is set, a checked save through a `TriggerVersionField`
 * commits its UPDATE on its own, awaits `racy(...)`, and only then reads the
 * version back in a separate statement: the unsafe design. The concurrency
 * spec sets it in worker processes to prove that its harness catches the
 * writes that design loses.
 */
export const triggerReadBackHook: { racy: ((at: RacyReadBack) => Promise<void>) | undefined } = { racy: undefined };
