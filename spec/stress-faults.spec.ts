import { expect } from 'chai';
import type { FaultMode } from '../stress/fault-injector';
import { PrivateServer, privateServerUnavailable } from '../stress/private-server';
import { runStress, StressOptions, StressReport } from '../stress/run-stress';
import { STRESS_KINDS } from '../stress/version-kinds';
import { REQUIRE_ALL } from './support/dialects';
import { forEachDialect } from './support/for-each-dialect';
import { shortFaultRun } from './support/short-fault-run';

/**
 * The short form of `npm run stress -- --faults ...`: increments from two
 * processes while the database goes away three times. PostgreSQL and
 * MariaDB run on a private server the spec starts (restarted clean and
 * immediate, killed with SIGKILL, or kept down so connections are refused);
 * SQLite's writer processes are killed with SIGKILL mid-transaction. No
 * acknowledged increment may be lost, no unknown outcome applied twice,
 * every error must be typed, and throughput must come back after each
 * fault. The same run with the version check disabled must be caught
 * losing updates.
 */
forEachDialect('no lost update while the database goes away (npm run stress --faults, short form)', (d) => {
  const modes = d.pick<{ checked: FaultMode[]; selfTest: FaultMode }>({
    sqlite: { checked: ['kill'], selfTest: 'kill' },
    postgres: { checked: ['restart', 'refuse'], selfTest: 'kill' },
    mysql: { checked: ['kill', 'restart'], selfTest: 'refuse' },
  });
  const kind = STRESS_KINDS.find((k) => k.name === 'AutoIncVersionField')!;
  let server: PrivateServer | undefined;

  before(async function () {
    if (d.name === 'sqlite') return;
    const why = privateServerUnavailable(d.name);
    if (why !== undefined) {
      if (REQUIRE_ALL) throw new Error(`${why} (REQUIRE_ALL_DIALECTS=1 makes it a failure)`);
      console.warn(`\n  !!! SKIPPING fault-injection stress specs: ${why}\n`);
      this.skip();
    }
    this.timeout(120_000);
    server = await PrivateServer.create(d.name);
    await server.start();
  });

  after(async function () {
    this.timeout(60_000);
    await server?.destroy();
  });

  const options = (mode: FaultMode, selfTest: boolean): StressOptions => ({
    dialect: d.name,
    url: d.name === 'sqlite' ? d.url : undefined,
    server,
    kind,
    processes: 2,
    ...shortFaultRun(selfTest),
    faults: { mode, count: 3, settleMs: 1000, downMs: 800 },
  });

  const describeRun = (r: StressReport): string =>
    [...r.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.examples.join('; ')}`), ...r.errors.slice(0, 3)].join('\n') || 'ok';

  for (const mode of modes.checked) {
    it(`--faults ${mode}: 3 faults; every acknowledged increment kept, every unknown outcome applied at most once, every error typed, throughput back after each`, async function () {
      this.timeout(120_000);
      const r = await runStress(options(mode, false));
      expect(r.errors, describeRun(r)).to.deep.equal([]);
      for (const c of r.checks) expect(c.ok, `${c.name}: ${c.examples.join('; ')}`).to.equal(true);
      expect(r.lostUpdates).to.equal(0);
      expect(r.faults).to.have.length(3);
      for (const f of r.faults) expect(f.firstAckMs, `fault ${f.n}: ${f.what}`).to.not.equal(null);
      expect(r.successes).to.be.greaterThan(0);
      if (d.name !== 'sqlite') {
        const unavailable = Object.entries(r.failuresByClass).filter(([name]) => name.startsWith('DatabaseUnavailableError'));
        expect(unavailable.length, `the faults struck: ${JSON.stringify(r.failuresByClass)}`).to.be.greaterThan(0);
      }
    });
  }

  it(`self-test under --faults ${modes.selfTest}: with the version check disabled, the checker catches lost updates`, async function () {
    this.timeout(120_000);
    const r = await runStress(options(modes.selfTest, true));
    expect(r.errors, describeRun(r)).to.deep.equal([]);
    expect(r.faults).to.have.length(3);
    expect(r.lostUpdates, 'lost updates detected').to.be.greaterThan(0);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.name)).to.include('final counter = initial + acknowledged increments');
  });
});
