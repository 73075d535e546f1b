import { expect } from 'chai';
import { runStress, StressOptions, StressReport } from '../stress/run-stress';
import { MemberCut } from '../stress/member-cut';
import { memberToCut, withCutMember, type StressTopology } from '../stress/stress-topology';
import { STRESS_KINDS } from '../stress/version-kinds';
import { describeCluster } from './support/clusters';
import { forEachDialect } from './support/for-each-dialect';

/**
 * The short form of `npm run stress -- --topology galera|replicas|serializable`:
 * 4 processes x 25 increments of 2 hot rows, spread over the Galera nodes,
 * reading from the replica and writing to the primary, or saving in
 * SERIALIZABLE transactions. Nothing may be lost; the self-test (version
 * check disabled) must be caught losing updates.
 */
const KIND = STRESS_KINDS[0]!;

function options(dialect: 'postgres' | 'mysql', url: string, topology: StressTopology): StressOptions {
  return { dialect, url, kind: KIND, processes: 4, workers: 1, ops: 25, rows: 2, selfTest: false, thinkMs: 0, attempts: 1000, topology };
}

function expectNoLoss(r: StressReport): void {
  expect(r.errors).to.deep.equal([]);
  expect(r.successes).to.equal(100);
  expect([r.failed, r.indeterminate]).to.deep.equal([0, 0]);
  for (const c of r.checks) expect(c.ok, `${c.name}: ${c.examples.join('; ')}`).to.equal(true);
  expect(r.conflicts + r.retryable, 'the processes really contended').to.be.greaterThan(0);
}

function expectCaught(r: StressReport): void {
  expect(r.errors).to.deep.equal([]);
  expect(r.lostUpdates, 'lost updates detected').to.be.greaterThan(0);
}

describeCluster('galera', 'no lost update across Galera nodes (npm run stress -- --topology galera, short form)', (cluster) => {
  const run = (selfTest: boolean) => {
    const nodes = cluster().nodes;
    return runStress({ ...options('mysql', nodes[0]!, { name: 'galera', dialect: 'mysql', url: nodes[0], nodes }), selfTest });
  };
  it('4 processes, each on another node: every acknowledged increment is kept', async () => expectNoLoss(await run(false)));
  it('self-test: with the version check disabled, the checker catches lost updates', async () => expectCaught(await run(true)));
});

describeCluster('replicas', 'no lost update reading from a replica (npm run stress -- --topology replicas, short form)', (cluster) => {
  const run = (selfTest: boolean) => {
    const { primary, replicas } = cluster();
    return runStress({ ...options('postgres', primary, { name: 'replicas', dialect: 'postgres', url: primary, replicas }), selfTest });
  };
  it('4 processes reading from the replica, writing to the primary: every acknowledged increment is kept', async () => expectNoLoss(await run(false)));
  it('self-test: with the version check disabled, the checker catches lost updates', async () => expectCaught(await run(true)));
});

/** The same run while one member (Galera node 1, or the primary) is cut off its clients twice (npm run stress -- --topology ... --faults refuse). */
async function withFaults(dialect: 'postgres' | 'mysql', topology: StressTopology): Promise<StressReport> {
  const member = memberToCut(topology)!;
  const cut = await MemberCut.create(member.url, member.name);
  try {
    return await runStress({
      ...options(dialect, topology.url!, withCutMember(topology, cut.url)),
      workers: 2,
      server: cut,
      faults: { mode: 'refuse', count: 2, settleMs: 800, downMs: 800 },
    });
  } finally {
    await cut.destroy();
  }
}

function expectSurvived(r: StressReport): void {
  expect(r.errors).to.deep.equal([]);
  for (const c of r.checks) expect(c.ok, `${c.name}: ${c.examples.join('; ')}`).to.equal(true);
  expect(r.faults).to.have.length(2);
  expect(r.successes).to.be.greaterThan(0);
}

describeCluster('galera', 'no lost update while a Galera node vanishes (npm run stress -- --topology galera --faults refuse, short form)', (cluster) => {
  it('processes pinned to node 1 fail over to node 2; every check holds through 2 faults', async () => {
    const nodes = cluster().nodes;
    const r = await withFaults('mysql', { name: 'galera', dialect: 'mysql', url: nodes[0], nodes });
    expectSurvived(r);
    // No call found itself without a node: failover happens within the call that met the dead one.
    expect(Object.keys(r.failuresByClass).filter((k) => k.startsWith('DatabaseUnavailableError'))).to.deep.equal([]);
  });
});

describeCluster('replicas', 'no lost update while the primary vanishes (npm run stress -- --topology replicas --faults refuse, short form)', (cluster) => {
  it('writes fail typed and are run again once the primary answers; every check holds through 2 faults', async () => {
    const { primary, replicas } = cluster();
    const r = await withFaults('postgres', { name: 'replicas', dialect: 'postgres', url: primary, replicas });
    expectSurvived(r);
    expect(Object.keys(r.failuresByClass).some((k) => k.startsWith('DatabaseUnavailableError')), JSON.stringify(r.failuresByClass)).to.equal(true);
  });
});

forEachDialect('no lost update at SERIALIZABLE (npm run stress -- --topology serializable, short form)', (d) => {
  if (d.name !== 'postgres') return;
  const run = (selfTest: boolean) => runStress({ ...options('postgres', d.url, { name: 'serializable', dialect: 'postgres', url: d.url, isolation: 'serializable' }), selfTest });
  it('4 processes saving in SERIALIZABLE transactions: every acknowledged increment is kept', async () => {
    const r = await run(false);
    expectNoLoss(r);
    expect(r.retryable, 'conflicts came as 40001').to.be.greaterThan(0);
  });
  it('self-test: with the version check disabled, the checker catches lost updates', async () => expectCaught(await run(true)));
});
