import { expect } from 'chai';
import type { Knex } from 'knex';
import { connect, Database, ReadOnlyDatabaseError } from '../lib';
import { describeCluster } from './support/clusters';
import { rejection } from './support/expect-error';
import { DialectContext, forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';

// A write that reaches a read-only database (a replica given as the primary,
// a server or session in read-only mode, a SQLite file opened read-only) is
// refused by the database: the caller gets one typed error that says so and
// what to do, with nothing written and the instance as it was.

const kind = VERSION_KINDS[1]!;
const table = 'read_only_products';

/**
 * A connection to `d`'s database on which the database refuses every write,
 * and the code it refuses with. (SQLite: Knex ORs `OPEN_READONLY` with its
 * read-write flags, which sqlite3 refuses as misuse; a `mode=ro` URI works.)
 */
function readOnly(d: DialectContext): { target: Knex.Config; code: string | number } {
  const session = (sql: string) => ({
    afterCreate: (conn: { query(sql: string, cb: (err: Error | null) => void): void }, done: (err: Error | null, conn: unknown) => void) =>
      conn.query(sql, (err) => done(err, conn)),
  });
  return d.pick({
    sqlite: { target: { client: 'sqlite3', connection: { filename: `file:${d.url.slice('sqlite:'.length)}?mode=ro`, flags: ['OPEN_URI'] }, useNullAsDefault: true }, code: 'SQLITE_READONLY' },
    postgres: { target: { client: 'pg', connection: d.url, pool: session('SET default_transaction_read_only = on') }, code: '25006' },
    mysql: { target: { client: 'mysql2', connection: d.url, pool: session('SET SESSION TRANSACTION READ ONLY') }, code: 1792 },
  });
}

async function expectRefusals(writer: Database, reader: Database, code: string | number): Promise<void> {
  const Rw = productModel(reader, table, kind);
  const seeded = await Rw.create({ name: 'kept', stock: 1 });
  const Ro = productModel(writer, table, kind);

  const created = await rejection(Ro.create({ name: 'new', stock: 2 }), ReadOnlyDatabaseError);
  expect(created.code).to.equal(code);
  expect(created.message).to.match(/read-only/).and.match(/Nothing was written/).and.match(/primary/);
  expect(created.cause).to.be.an('error');

  const stale = await Ro.get(seeded.id);
  stale.stock = 99;
  const saved = await rejection(stale.save(), ReadOnlyDatabaseError);
  expect(saved.phase).to.equal('statement');
  // The instance still holds what it loaded, with its change pending.
  expect(stale.version).to.equal(seeded.version);
  expect(stale.stock).to.equal(99);
  await rejection(stale.delete(), ReadOnlyDatabaseError);
  await rejection(Ro.query().where('id', seeded.id).update({ stock: 5 }), ReadOnlyDatabaseError);

  const inTransaction = await rejection(
    writer.transaction(async () => {
      stale.stock = 7;
      await stale.save();
    }),
    ReadOnlyDatabaseError,
  );
  expect(inTransaction.message).to.match(/the whole transaction was rolled back/);
  expect(stale.version).to.equal(seeded.version);

  const rows = await reader.knex(table).select('name', 'stock', 'version');
  expect(rows.map((r) => ({ ...r, version: Number(r.version) }))).to.deep.equal([{ name: 'kept', stock: 1, version: seeded.version }]);
}

forEachDialect('a write refused by a read-only database', (d) => {
  let ro: Database | undefined;
  beforeEach(async () => {
    await createProductTable(d.knex, table, kind);
  });
  afterEach(async () => {
    await ro?.close();
    ro = undefined;
  });

  it('is a ReadOnlyDatabaseError with the database code, nothing written, every instance as it was, in and out of transactions', async function () {
    const { target, code } = readOnly(d);
    ro = connect(target);
    await expectRefusals(ro, d.db, code);
  });
});

describeCluster('replicas', 'a replica given as the primary', (cluster) => {
  let primary: Database | undefined;
  let replica: Database | undefined;
  after(async () => {
    await Promise.all([primary?.close(), replica?.close()]);
  });

  it('refuses writes with ReadOnlyDatabaseError (PostgreSQL 25006)', async function () {
    primary = connect(cluster().primary);
    replica = connect(cluster().replicas[0]!);
    await createProductTable(primary.knex, table, kind);
    // The replica replays the new table shortly after the primary committed it.
    for (let i = 0; i < 200 && !(await replica.knex.schema.hasTable(table)); i++) await new Promise((r) => setTimeout(r, 25));
    const Ro = productModel(replica, table, kind);
    const err = await rejection(Ro.create({ name: 'lost?', stock: 1 }), ReadOnlyDatabaseError);
    expect(err.code).to.equal('25006');
    expect(await primary.knex(table).count({ n: '*' })).to.deep.equal([{ n: '0' }]);
  });
});
