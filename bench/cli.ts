import * as fs from 'node:fs';
import { BenchUsageError, parseBenchOptions, USAGE } from './bench-options';
import { formatReport } from './format-report';
import { failures, runBench } from './run-bench';
import { parseTopologyArgs, runTopologyBench } from './topology-bench';

/**
 * `npm run bench -- [options]`: prints the table, and exits 1 when a
 * correctness check failed (2 on a usage error).
 */
async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  // Across the clusters of npm run cluster: its own options and table (see topology-bench.ts).
  if (argv.some((a) => a === '--topology' || a.startsWith('--topology='))) {
    const lines = await runTopologyBench(parseTopologyArgs(argv.flatMap((a) => (a.startsWith('--topology=') ? ['--topology', a.slice(11)] : [a]))), (line) => console.error(line));
    console.log(`\n${lines.join('\n')}`);
    return 0;
  }
  let options;
  try {
    options = parseBenchOptions(argv);
  } catch (err) {
    if (!(err instanceof BenchUsageError)) throw err;
    console.error(`${err.message}\n\n${USAGE}`);
    return 2;
  }
  const report = await runBench(options, (line) => console.error(line));
  console.log(`\n${formatReport(report)}`);
  if (options.json !== undefined) fs.writeFileSync(options.json, `${JSON.stringify(report, null, 2)}\n`);
  return failures(report).length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exitCode = 1;
  },
);
