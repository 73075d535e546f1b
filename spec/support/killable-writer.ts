/**
 * A child process that writes to one row and is killed with SIGKILL by the
 * spec that forked it (spec/connection-lost.spec.ts).
 *
 *   node killable-writer.js <url> <table> <id> hold   saves inside a transaction, reports 'holding', waits forever
 *   node killable-writer.js <url> <table> <id> loop   commits stock = i, name = `n${i}` for i = 1, 2, ...; reports each commit
 */
import { connect, retryOnConflict } from '../../lib';
import { productModel, VERSION_KINDS } from './models';

async function main(): Promise<void> {
  const [url, table, idText, mode] = process.argv.slice(2);
  const db = connect(url!);
  const Product = productModel(db, table!, VERSION_KINDS[1]!);
  const id = Number(idText);
  const send = (message: unknown): Promise<void> => new Promise((resolve) => process.send!(message, () => resolve()));
  if (mode === 'hold') {
    await db.transaction(async () => {
      const p = await Product.get(id);
      p.name = 'half-written';
      p.stock = 99;
      await p.save();
      await send('holding');
      await new Promise(() => undefined);
    });
    return;
  }
  for (let i = 1; ; i++) {
    await retryOnConflict(
      () =>
        db.transaction(async () => {
          const p = await Product.get(id);
          p.stock = i;
          p.name = `n${i}`;
          await p.save();
        }),
      { attempts: 100 },
    );
    await send({ committed: i });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
