import { expect } from 'chai';
import { runStress, StressOptions } from '../stress/run-stress';
import { STRESS_KINDS } from '../stress/version-kinds';
import { forEachDialect } from './support/for-each-dialect';

/**
 * The short form of `npm run stress`: 4 operating-system processes each
 * doing 25 read-modify-write increments of 2 hot rows with retryOnConflict(),
 * every increment also appending a unique token to the row in the same
 * write. The checker (stress/check-history.ts) must find nothing; and the
 * same run with the version check disabled must be caught losing updates,
 * which proves the checker can fail.
 */
forEachDialect('no lost update under real concurrency (npm run stress, short form)', (d) => {
  for (const kind of STRESS_KINDS) {
    const options = (): StressOptions => ({ dialect: d.name, url: d.url, kind, processes: 4, workers: 1, ops: 25, rows: 2, selfTest: false, thinkMs: 0, attempts: 1000 });

    it(`${kind.name}: 4 processes x 25 increments: every acknowledged increment is in the counter, the versions and the log`, async () => {
      const r = await runStress(options());
      expect(r.errors).to.deep.equal([]);
      expect(r.successes).to.equal(100);
      expect([r.failed, r.indeterminate]).to.deep.equal([0, 0]);
      for (const c of r.checks) expect(c.ok, `${c.name}: ${c.examples.join('; ')}`).to.equal(true);
      expect(r.lostUpdates).to.equal(0);
      expect(r.conflicts + r.retryable, 'the processes really contended').to.be.greaterThan(0);
    });

    it(`${kind.name}: self-test: the same run with the version check disabled is caught losing updates`, async () => {
      const r = await runStress({ ...options(), selfTest: true });
      expect(r.errors).to.deep.equal([]);
      expect(r.successes).to.equal(100);
      expect(r.lostUpdates, 'lost updates detected').to.be.greaterThan(0);
      const failing = r.checks.filter((c) => !c.ok).map((c) => c.name);
      expect(failing).to.include('final counter = initial + acknowledged increments');
      expect(failing).to.include('no two acknowledged saves started from the same version');
      expect(failing).to.include('every acknowledged token is in the log exactly once, in version order');
    });
  }
});
