import { expect } from 'chai';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { IMPLS, parseBenchOptions, TargetName, WORKLOADS } from '../bench/bench-options';
import { failures, runBench } from '../bench/run-bench';
import { forEachDialect } from './support/for-each-dialect';

// Timing stays out of the specs: this only checks that the bench runs every
// workload on every dialect and that its correctness checks hold.
forEachDialect('npm run bench, smoke run (tiny sizes, no timing asserted)', (d) => {
  it('runs every workload three ways, counts one statement per save, probes the heap, and every correctness check passes', async function () {
    this.timeout(180_000);
    const targets = d.pick<TargetName[]>({ sqlite: ['sqlite-file', 'sqlite-memory'], postgres: ['postgres'], mysql: ['mysql'] });
    const options = { ...parseBenchOptions(['--smoke', '--reps', '1']), targets, tablePrefix: 'smoke_' };
    const urls = d.pick<Partial<Record<TargetName, string>>>({ sqlite: { 'sqlite-file': d.url }, postgres: { postgres: d.url }, mysql: { mysql: d.url } });
    const report = await runBench(options, () => undefined, urls);

    expect(failures(report)).to.deep.equal([]);
    expect(report.targets.map((t) => t.name)).to.deep.equal(targets);
    for (const t of report.targets) {
      expect(t.workloads.map((w) => w.id)).to.deep.equal([...WORKLOADS]);
      for (const w of t.workloads) {
        for (const impl of IMPLS) {
          expect(w.series[impl]?.opsPerSec, `${t.name} ${w.id} ${impl}`).to.have.length(1);
          expect(w.series[impl]!.opsPerSec[0]).to.be.greaterThan(0);
        }
      }
      // E also runs a loop of save(), and counts the statements of each saveAll().
      const e = t.workloads.find((w) => w.id === 'E')!;
      expect(e.series.loop?.opsPerSec).to.have.length(1);
      expect(e.series.kc!.extra.batches).to.deep.equal([2]);
      expect(e.series.kc!.extra.statements![0]).to.be.greaterThan(0);
      expect(t.statements.map((s) => [s.versionField, s.queryEvents, s.roundTrips])).to.deep.equal([
        ['IntegerVersionField', 1, 1],
        ['AutoIncVersionField', 1, 1],
      ]);
      expect(t.memory?.rows).to.equal(options.sizes.memoryRows);
      expect(t.memory!.instanceBytesPerRow).to.be.greaterThan(0);
      // Warm-up and measured trials of 4 workloads x 3 implementations, each with several checks.
      expect(t.checks.length).to.be.greaterThan(4 * 3 * 2 * 3);
    }
  });
});

forEachDialect('npm run bench --connect config,instance (smoke)', (d) => {
  it('measures a Knex config object and a Knex instance the caller built, with every correctness check', async function () {
    this.timeout(180_000);
    const targets = d.pick<TargetName[]>({ sqlite: ['sqlite-file'], postgres: ['postgres'], mysql: ['mysql'] });
    const options = { ...parseBenchOptions(['--smoke', '--reps', '1', '--workload', 'A,E', '--connect', 'config,instance', '--no-memory']), targets, tablePrefix: 'smoke_' };
    const urls = d.pick<Partial<Record<TargetName, string>>>({ sqlite: { 'sqlite-file': d.url }, postgres: { postgres: d.url }, mysql: { mysql: d.url } });
    const report = await runBench(options, () => undefined, urls);
    expect(failures(report)).to.deep.equal([]);
    expect(report.targets.map((t) => t.connect)).to.deep.equal(['config', 'instance']);
    for (const t of report.targets) expect(t.workloads.map((w) => w.id)).to.deep.equal(['A', 'E']);
  });
});

describe('npm run bench, command line', () => {
  const cli = path.resolve(__dirname, '..', 'bench', 'cli.js');
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, ['--expose-gc', cli, ...args], { env: { ...process.env } }, (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });

  it('prints the table with ratios and exits 0 when every check passes', async function () {
    this.timeout(120_000);
    const { code, stdout, stderr } = await run(['--smoke', '--reps', '1', '--dialect', 'sqlite-memory', '--no-memory']);
    expect(code, stderr).to.equal(0);
    expect(stdout).to.match(/kc\/Knex\s+kc\/raw/);
    expect(stdout).to.match(/^A \d+ sequential save\(\)s.*\d\.\d\dx\s+\d\.\d\dx/m);
    expect(stdout).to.include('ALL CORRECTNESS CHECKS PASSED');
  });

  it('refuses an unknown dialect with exit code 2 and the usage', async () => {
    const { code, stderr } = await run(['--dialect', 'oracle']);
    expect(code).to.equal(2);
    expect(stderr).to.match(/unknown dialect "oracle"[\s\S]*usage: npm run bench/);
  });

  it('a failed correctness check is a failure of the run', () => {
    const report = {
      node: process.version,
      cpus: 1,
      reps: 1,
      seconds: 0,
      targets: [{ name: 'postgres' as const, connect: 'url' as const, workloads: [], statements: [], memory: undefined, seconds: 0, load: [0, 0] as [number, number], checks: [{ what: 'D kc: zero lost updates', ok: false }] }],
    };
    expect(failures(report)).to.deep.equal(['[postgres url] D kc: zero lost updates']);
  });
});
