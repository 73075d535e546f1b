import { expect } from 'chai';
import { UsageError, ValidationError } from '../lib';
import { guardSelection, StaleSelectionError } from '../lib/http';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { countQueries } from './support/schema';
import { committedRow, gate, openSession, settle } from './support/session';

// A bulk action on rows a page showed as "pk,version" pairs runs only when
// none of them changed, all in one transaction.
forEachDialect('guardSelection(): bulk actions on "pk,version" selections', (d) => {
  const kind = VERSION_KINDS.find((k) => k.name === 'AutoIncVersionField') ?? VERSION_KINDS[0]!;
  const table = 'guard_products';
  let Product: ReturnType<typeof productModel>;

  beforeEach(async () => {
    await createProductTable(d.knex, table, kind);
    Product = productModel(d.db, table, kind);
  });

  const pair = (p: { id: number; version: number }): string => `${p.id},${p.version}`;

  it('runs the action on fresh rows, in the order selected, and its saves commit together', async () => {
    const a = await Product.create({ name: 'a', stock: 1 });
    const b = await Product.create({ name: 'b', stock: 2 });
    const names = await guardSelection(Product, [pair(b), pair(a)], async (products) => {
      for (const p of products) {
        p.stock += 10;
        await p.save();
      }
      return products.map((p) => p.name);
    });
    expect(names).to.deep.equal(['b', 'a']);
    expect((await committedRow(d, table, a.id)).stock).to.equal(11);
    expect((await committedRow(d, table, b.id)).stock).to.equal(12);
    // A single entry as a string (one checked box posts a string) works too.
    expect(await guardSelection(Product, pair(await Product.get(a.id)), (ps) => ps.length)).to.equal(1);
  });

  it('one stale and one deleted row: the action never runs, nothing is written, and the error names both', async () => {
    const a = await Product.create({ name: 'a' });
    const b = await Product.create({ name: 'b' });
    const c = await Product.create({ name: 'c' });
    const shown = [pair(a), pair(b), pair(c)];
    const edit = await Product.get(b.id);
    edit.name = 'b changed';
    await edit.save();
    await d.knex(table).where({ id: c.id }).del();
    let ran = false;
    const err = await rejection(
      guardSelection(Product, shown, async (products) => {
        ran = true;
        for (const p of products) await p.delete();
      }),
      StaleSelectionError,
    );
    expect(ran).to.equal(false);
    expect(err.status).to.equal(409);
    expect(err.stale).to.deep.equal([
      { pk: b.id, expectedVersion: b.version, actualVersion: edit.version },
      { pk: c.id, expectedVersion: c.version, actualVersion: null },
    ]);
    expect(err.message).to.include(`${b.id} (version ${b.version} -> ${edit.version})`).and.include(`${c.id} (deleted)`);
    expect(await committedRow(d, table, a.id)).to.include({ name: 'a' });
  });

  it('an action that fails halfway rolls back what it wrote', async () => {
    const a = await Product.create({ name: 'a', stock: 1 });
    const b = await Product.create({ name: 'b', stock: 1 });
    await rejection(
      guardSelection(Product, [pair(a), pair(b)], async ([first]) => {
        first!.stock = 99;
        await first!.save();
        throw new UsageError('stop');
      }),
      UsageError,
    );
    expect((await committedRow(d, table, a.id)).stock).to.equal(1);
  });

  it('bad selections are refused before any SQL', async () => {
    const a = await Product.create({ name: 'a' });
    for (const bad of [[], ['12'], ['x,1'], ['1,v2'], [`${a.id},1`, `${a.id},2`], 'nonsense', [42], null]) {
      const { result, count } = await countQueries(d.knex, () => rejection(guardSelection(Product, bad, () => undefined), ValidationError));
      expect(result.field, JSON.stringify(bad)).to.equal('selection');
      expect(count, JSON.stringify(bad)).to.equal(0);
    }
    const { count } = await countQueries(d.knex, () => guardSelection(Product, ['0,1'], () => undefined).catch(() => undefined));
    expect(count).to.be.greaterThan(0);
  });

  it('attack: no one can change a selected row between the check and the end of the action', async () => {
    const a = await Product.create({ name: 'a' });
    const writer = openSession(d, table, kind, { lockTimeoutMs: 10000 });
    try {
      const theirs = await writer.Product.get(a.id);
      const inAction = gate();
      const release = gate();
      const guarded = guardSelection(Product, [pair(a)], async () => {
        inAction.open();
        await release.opened;
        return 'done';
      });
      await inAction.opened;
      theirs.name = 'written during the action';
      const write = settle(theirs.save());
      // Give the writer every chance to get through while the action runs.
      await new Promise((r) => setTimeout(r, 300));
      expect((await committedRow(d, table, a.id)).name).to.equal('a');
      release.open();
      expect(await guarded).to.equal('done');
      // It waited for the action's transaction; the action wrote nothing, so its own compare-and-swap then passes.
      const outcome = await write;
      expect(outcome.ok, outcome.ok ? '' : String((outcome as { error: unknown }).error)).to.equal(true);
      expect((await committedRow(d, table, a.id)).name).to.equal('written during the action');
    } finally {
      await writer.close();
    }
  });

  it('the action saves with the posted version: a row changed before the guard ran can never be overwritten', async () => {
    const a = await Product.create({ name: 'a' });
    const shown = pair(a);
    const other = await Product.get(a.id);
    other.name = 'other';
    await other.save();
    await rejection(guardSelection(Product, [shown], async ([p]) => p!.save()), StaleSelectionError);
  });
});
