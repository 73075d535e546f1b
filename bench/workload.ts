import type { BenchSizes, ImplName, WorkloadId } from './bench-options';
import type { BenchEnv } from './bench-target';

/** Records one correctness check; a false `ok` fails the bench. */
export type Check = (ok: boolean, what: string) => void;

/** One timed run of one workload by one implementation, prepared and ready. */
export interface Trial {
  /** How many operations `run()` performs (saves, rows, inserts, increments). */
  readonly ops: number;
  /** The timed part. */
  run(): Promise<void>;
  /** Checks what the run left behind (final versions, counts, lost updates). Not timed. */
  verify(check: Check): Promise<void>;
  /** Extra counts worth reporting, such as conflicts retried. */
  readonly extra?: () => Record<string, number>;
}

/**
 * A workload of the bench, done three ways: by knex-concurrency (`kc`), by
 * hand-written Knex, and by the raw driver with prepared statements.
 */
export interface Workload {
  readonly id: WorkloadId;
  /** What one operation is, for the table: `saves/s`, `rows/s`. */
  readonly unit: string;
  /** The target ratio of kc to hand-written Knex. */
  readonly target: number;
  /** The target ratio of kc to the raw driver's prepared statements, where there is one. */
  readonly rawTarget?: number;
  title(sizes: BenchSizes): string;
  /**
   * How one measured repetition is cut: `rounds` trials of `ops` operations
   * per implementation, the implementations taking turns round by round, so
   * a slow moment of a shared machine (an fsync queue, another process)
   * falls on all of them rather than on whichever ran then.
   */
  plan(sizes: BenchSizes): { readonly rounds: number; readonly ops: number };
  /** The implementations this workload runs, of those asked for (default: all of them). */
  readonly impls?: (asked: readonly ImplName[]) => readonly ImplName[];
  /** Creates the tables once per database (not timed). */
  setup(env: BenchEnv): Promise<void>;
  /** Prepares one trial of `size` operations (not timed). */
  trial(env: BenchEnv, impl: ImplName, size: number): Promise<Trial>;
}
