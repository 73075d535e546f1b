import { ChildProcess, spawn } from 'node:child_process';
import * as readline from 'node:readline';

/**
 * Starts `count` worker processes of the script `worker` (each given
 * `config` as JSON), waits until every one printed `ready`, sends them all
 * `go` at once so that they race, and resolves with the JSON each printed on
 * its last line. A worker that exits non-zero rejects with its stderr; the
 * others are killed.
 */
export async function runWorkers<R>(worker: string, count: number, config: object): Promise<R[]> {
  const children: ChildProcess[] = [];
  const ready: Promise<void>[] = [];
  const results: Promise<R>[] = [];
  for (let i = 0; i < count; i++) {
    const child = spawn(process.execPath, [worker, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = readline.createInterface({ input: child.stdout! });
    const output: string[] = [];
    ready.push(new Promise((resolve) => lines.on('line', (line) => (output.push(line), line === 'ready' && resolve()))));
    results.push(
      new Promise((resolve, reject) =>
        child.on('close', (code) => {
          if (code !== 0) return reject(new Error(`worker ${i} exited with ${code}: ${stderr}`));
          resolve(JSON.parse(output[output.length - 1]!) as R);
        }),
      ),
    );
  }
  try {
    await Promise.race([Promise.all(ready), Promise.all(results)]);
    for (const child of children) child.stdin!.write('go\n');
    return await Promise.all(results);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill();
  }
}
