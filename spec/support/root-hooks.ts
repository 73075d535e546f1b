import { destroyPrivateClusters, skippedClusters } from './clusters';
import { missing, REQUIRE_ALL, selectedDialects, skipped } from './dialects';

/**
 * Mocha root hooks: after the whole run, destroy the private clusters the
 * specs started, and repeat loudly which dialects were skipped, so a green
 * run on SQLite alone is never mistaken for a full one.
 */
export const mochaHooks = {
  async afterAll(this: Mocha.Context): Promise<void> {
    this.timeout(60_000);
    await destroyPrivateClusters();
    if (skippedClusters.size > 0) {
      console.warn(`\n  !!! SKIPPED CLUSTER SPECS: ${[...skippedClusters].map(([n, why]) => `${n} (${why})`).join('; ')}`);
      console.warn('  !!! Start them with `npm run cluster -- up galera` and `up replicas`; REQUIRE_CLUSTERS=1 makes this a failure.');
    }
    const ran = selectedDialects().filter((d) => !skipped.has(d) && !missing.has(d));
    if (missing.size > 0) {
      console.error(`\n  !!! REQUIRED DIALECTS DID NOT ANSWER (their specs failed): ${[...missing].map(([n, why]) => `${n} (${why})`).join(', ')}`);
    }
    if (skipped.size === 0) {
      console.log(`\n  Dialects tested: ${ran.join(', ')}${REQUIRE_ALL ? ' (REQUIRE_ALL_DIALECTS=1)' : ''}`);
      return;
    }
    console.warn('\n  ==================================================================');
    console.warn(`  !!! SKIPPED DIALECTS: ${[...skipped.keys()].join(', ')}`);
    for (const [name, why] of skipped) console.warn(`  !!!   ${name}: ${why}`);
    console.warn(`  !!! Tested only: ${ran.join(', ') || 'nothing'}. Set REQUIRE_ALL_DIALECTS=1 to make this a failure.`);
    console.warn('  ==================================================================\n');
  },
};
