import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expect } from 'chai';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable } from './support/models';

const LIB = path.resolve(__dirname, '..', 'lib');

// A script that forgets db.close(): it writes, leaves one last write
// unawaited, and ends. The pool's idle connections and timer must not keep
// the process alive forever, and the write in flight must land first.
const SCRIPT = `
const { connect, Model, AutoField, CharField, TextField, FloatField, IntegerField, AutoIncVersionField } = require(${JSON.stringify(LIB)});
const [url, table] = process.argv.slice(2);
const db = connect(url);
class Product extends Model {
  static table = table;
  static fields = { id: new AutoField(), name: new CharField({ maxLength: 100 }), description: new TextField({ default: '' }), price: new FloatField({ default: 0 }), stock: new IntegerField({ default: 0 }), version: new AutoIncVersionField() };
}
Product.bind(db);
(async () => {
  const p = await Product.create({ name: 'first' });
  p.stock = 1;
  await p.save();
  await db.transaction(async () => { await Product.create({ name: 'in a transaction' }); });
  // The last write, not awaited: the process must wait for it.
  void Product.create({ name: 'unawaited' });
  console.log('script done');
})();
`;

/** Runs the script; resolves its exit code, or 'hung' when it is still running after `ms`. */
function runScript(url: string, table: string, ms: number): Promise<{ code: number | 'hung'; stdout: string; stderr: string }> {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'kc-exit-')), 'script.js');
  fs.writeFileSync(file, SCRIPT);
  return new Promise((resolve) => {
    let hung = false;
    const child = execFile(process.execPath, [file, url, table], { env: { ...process.env } }, (err, stdout, stderr) => {
      resolve({ code: hung ? 'hung' : ((err as { code?: number } | null)?.code ?? 0), stdout, stderr });
    });
    setTimeout(() => {
      if (child.exitCode !== null) return;
      hung = true;
      child.kill('SIGKILL');
    }, ms);
  });
}

forEachDialect('a script that forgets db.close()', (d) => {
  const table = 'exit_products';

  it('exits by itself once its work is done, after the write still in flight has landed', async function () {
    this.timeout(20_000);
    await createProductTable(d.knex, table);
    const r = await runScript(d.url, table, 10_000);
    expect(r.stderr).to.equal('');
    expect(r.code, 'the script ended by itself').to.equal(0);
    expect(r.stdout).to.equal('script done\n');
    const rows = await d.knex(table).orderBy('id').select('name', 'stock');
    expect(rows).to.deep.equal([
      { name: 'first', stock: 1 },
      { name: 'in a transaction', stock: 0 },
      { name: 'unawaited', stock: 0 },
    ]);
  });
});
