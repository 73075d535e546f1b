// `npm run example`: the inventory app on the embedded SQLite file, or on DATABASE_URL.
import { connect } from 'knex-concurrency';
import { createApp } from './app';
import { ensureSchema, Product } from './product';

async function main(): Promise<void> {
  const url = process.env.DATABASE_URL ?? 'sqlite:./inventory.db';
  const db = connect(url);
  Product.bind(db);
  await ensureSchema(db.knex);
  // A fixed development secret; in production pass your own (FORM_SECRETS="new,old" rotates keys).
  const secrets = (process.env.FORM_SECRETS ?? 'inventory-example-development-secret').split(',');
  const port = Number(process.env.PORT ?? 3000);
  const server = createApp({ secrets }).listen(port, '127.0.0.1', () => {
    const address = server.address();
    const actual = typeof address === 'object' && address !== null ? address.port : port;
    console.log(`Inventory example on http://127.0.0.1:${actual}/ (database ${url.replace(/\/\/[^@/]*@/, '//***@')}). Ctrl-C stops it.`);
  });
  const stop = (): void => {
    server.close(() => void db.close());
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
