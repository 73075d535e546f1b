/**
 * npm run stress -- --dialect sqlite|postgres|mysql [--processes 4] [--workers 4] [--ops 100]
 *                   [--rows 3] [--kind IntegerVersionField|AutoIncVersionField|all] [--self-test]
 *                   [--think-ms 0] [--attempts 1000] [--url URL] [--keep] [--json]
 *
 * Runs the lost-update stress test (see run-stress.ts) once per version kind
 * and prints the figures and the checks. Exit code 0 when every run passes:
 * every check holds, or with --self-test, the checker caught lost updates.
 */
import { TestDialectName } from '../spec/support/dialects';
import { formatReport, passed } from './print-report';
import { runStress, StressOptions } from './run-stress';
import { STRESS_KINDS, stressKind } from './version-kinds';

const USAGE = 'usage: npm run stress -- --dialect sqlite|postgres|mysql [--processes N] [--workers N] [--ops N] [--rows N] [--kind NAME|all] [--self-test] [--think-ms MS] [--attempts N] [--url URL] [--keep] [--json]';

function parse(argv: readonly string[]): { runs: StressOptions[]; json: boolean } {
  const flags = new Set(['--self-test', '--keep', '--json']);
  const values = new Map<string, string>();
  const on = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (flags.has(arg)) on.add(arg);
    else if (arg.startsWith('--') && i + 1 < argv.length) values.set(arg, argv[++i]!);
    else throw new Error(`unexpected argument ${arg}\n${USAGE}`);
  }
  const known = ['--dialect', '--processes', '--workers', '--ops', '--rows', '--kind', '--think-ms', '--attempts', '--url'];
  for (const k of values.keys()) if (!known.includes(k)) throw new Error(`unknown option ${k}\n${USAGE}`);
  const int = (name: string, fallback: number, min = 1): number => {
    const n = Number(values.get(name) ?? fallback);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`${name} must be an integer >= ${min}`);
    return n;
  };
  const dialect = values.get('--dialect');
  if (dialect !== 'sqlite' && dialect !== 'postgres' && dialect !== 'mysql') throw new Error(USAGE);
  const selfTest = on.has('--self-test');
  const kindName = values.get('--kind') ?? 'all';
  const kinds = kindName === 'all' ? STRESS_KINDS : [stressKind(kindName)];
  const common = {
    dialect: dialect as TestDialectName,
    url: values.get('--url'),
    processes: int('--processes', 4),
    workers: int('--workers', 4),
    ops: int('--ops', 100),
    // The self-test runs with the same figures: it only switches the version check off.
    rows: int('--rows', 3),
    selfTest,
    thinkMs: int('--think-ms', 0, 0),
    attempts: int('--attempts', 1000),
    keep: on.has('--keep'),
  };
  return { runs: kinds.map((kind) => ({ ...common, kind })), json: on.has('--json') };
}

async function main(): Promise<number> {
  const { runs, json } = parse(process.argv.slice(2));
  let ok = true;
  for (const options of runs) {
    const report = await runStress(options);
    console.log(json ? JSON.stringify({ ...report, pass: passed(report) }) : `${formatReport(report)}\n`);
    ok &&= passed(report);
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
