import type { StressOptions } from '../../stress/run-stress';

/**
 * What the short form of a fault run (`npm run stress -- --faults ...` in a
 * spec) keeps the same wherever it strikes: two workers per process running
 * until the faults are over, no think time, and two rows (one for a
 * self-test, so that its lost updates collide).
 */
export function shortFaultRun(selfTest: boolean): Pick<StressOptions, 'workers' | 'ops' | 'rows' | 'selfTest' | 'thinkMs' | 'attempts'> {
  return { workers: 2, ops: 0, rows: selfTest ? 1 : 2, selfTest, thinkMs: 0, attempts: 1000 };
}
