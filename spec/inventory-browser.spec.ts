import { expect } from 'chai';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { connect, Database } from '../lib';
import { createApp } from '../examples/inventory/app';
import { ensureSchema, Product } from '../examples/inventory/product';
import { Browser, launchChromium, outputDirectory, REQUIRE_BROWSER } from './support/browser';
import { sqliteUrl } from './support/dialects';
import { listenOnLoopback, RunningServer } from './support/http-server';

// The example app as people use it: two (then three) browser pages on the
// same record, in real headless Chromium. SQLite is enough here: the
// behaviour under each database is the other specs' job.
describe('examples/inventory in headless Chromium (SQLite)', function () {
  this.timeout(90000);
  let db: Database;
  let server: RunningServer;
  let browser: Browser | undefined;

  before(async function () {
    try {
      browser = await launchChromium();
    } catch (err) {
      const why = `Chromium could not start: ${(err as Error).message.split('\n')[0]}`;
      if (REQUIRE_BROWSER) throw new Error(`${why} (REQUIRE_BROWSER=1 makes this a failure)`);
      console.warn(`\n  !!! SKIPPING THE BROWSER SPEC: ${why}\n`);
      this.skip();
    }
    db = connect(sqliteUrl('inventory-browser'));
    Product.bind(db);
    server = await listenOnLoopback(createApp({ secrets: ['browser-spec-secret-0123456789'] }));
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    await db?.close();
  });
  beforeEach(async () => {
    await db.knex.schema.dropTableIfExists(Product.table);
    await ensureSchema(db.knex);
  });

  async function open(url: string): Promise<Page> {
    const page = await browser!.context.newPage();
    const res = await page.goto(server.url + url);
    expect(res?.status()).to.equal(200);
    return page;
  }

  /** Clicks a submit button and returns the status of the page it lands on (after redirects). */
  async function submit(page: Page, button: string): Promise<number> {
    const [res] = await Promise.all([page.waitForNavigation(), page.click(button)]);
    return res!.status();
  }

  async function row(id: number): Promise<{ name: string; price: number; stock: number; version: number }> {
    const r = await db.knex(Product.table).where({ id }).first();
    return { name: r.name, price: Number(r.price), stock: Number(r.stock), version: Number(r.version) };
  }

  it('two people edit the same product: the second lands on the conflict page, merges field by field, and a stale third submit is refused', async () => {
    const lamp = (await Product.query().where('name', 'Desk lamp').first())!;
    // New rows start at a clock-derived version, then count +1 per save.
    const v1 = lamp.version;
    const edit = `/products/${lamp.id}/edit`;
    const [a, b, c] = [await open(edit), await open(edit), await open(edit)];

    // A renames and reprices, and saves first.
    await a.fill('#f-name', 'Desk lamp (A)');
    await a.fill('#f-price', '42');
    expect(await submit(a, '#save')).to.equal(200);
    expect(await a.textContent('#notice')).to.contain(`Saved: Desk lamp (A) (version ${v1 + 1})`);

    // B renamed it too and changed the stock: its save is refused and shows the conflict.
    await b.fill('#f-name', 'Desk lamp (B)');
    await b.fill('#f-stock', '20');
    expect(await submit(b, '#save')).to.equal(409);
    expect(await b.textContent('h1')).to.contain('Someone else saved Desk lamp (A)');
    expect(await b.textContent('#conflict-summary')).to.match(new RegExp(`not\\s+saved: you edited version ${v1}, it is now at version ${v1 + 1}\\.\\s+1 field was changed by both of you`));
    expect(await b.getAttribute('#row-name', 'class')).to.equal('conflict');
    expect(await b.getAttribute('#row-price', 'class')).to.equal(null);
    expect(await b.getAttribute('#row-stock', 'class')).to.equal(null);
    expect(await b.textContent('#row-name .original')).to.equal('Desk lamp');
    expect(await b.textContent('#row-name .mine')).to.equal('Desk lamp (B)');
    expect(await b.textContent('#row-name .theirs')).to.equal('Desk lamp (A)');
    expect(await b.textContent('#row-price .theirs')).to.equal('42');
    // The defaults keep each side's own changes: their price, my stock.
    expect(await b.isChecked('#choice-price-theirs')).to.equal(true);
    expect(await b.isChecked('#choice-stock-mine')).to.equal(true);
    expect(await row(lamp.id)).to.deep.equal({ name: 'Desk lamp (A)', price: 42, stock: 12, version: v1 + 1 });
    const shot = path.join(outputDirectory('inventory-browser'), 'conflict-page.png');
    await b.screenshot({ path: shot, fullPage: true });

    // B keeps its own name, their price and its stock.
    await b.check('#choice-name-mine');
    expect(await submit(b, '#merge')).to.equal(200);
    expect(await b.textContent('#notice')).to.contain(`Merged and saved: Desk lamp (B) (version ${v1 + 2})`);
    expect(await row(lamp.id)).to.deep.equal({ name: 'Desk lamp (B)', price: 42, stock: 20, version: v1 + 2 });

    // C still has the form of version 1: its rename is refused, nothing is written.
    await c.fill('#f-name', 'Desk lamp (C)');
    expect(await submit(c, '#save')).to.equal(409);
    expect(await c.textContent('#conflict-summary')).to.contain(`you edited version ${v1}, it is now at version ${v1 + 2}`);
    expect(await c.textContent('#row-name .theirs')).to.equal('Desk lamp (B)');
    expect(await row(lamp.id)).to.deep.equal({ name: 'Desk lamp (B)', price: 42, stock: 20, version: v1 + 2 });

    // B's conflict page (for version 2), submitted again from the history: its
    // save conflicts with B's own merge, which already holds those values, so
    // nothing is written twice and the version does not move.
    await b.goBack();
    expect(await b.textContent('h1')).to.contain('Someone else saved');
    expect(await submit(b, '#keep-mine')).to.equal(200);
    expect(await b.textContent('#notice')).to.contain(`Merged with the changes saved meanwhile: Desk lamp (B) (version ${v1 + 2})`);
    expect(await row(lamp.id)).to.deep.equal({ name: 'Desk lamp (B)', price: 42, stock: 20, version: v1 + 2 });
    for (const p of [a, b, c]) await p.close();
  });

  it('a bulk action with one stale row is refused whole, naming the row; after a reload it runs', async () => {
    const list = await open('/');
    const [lamp, chair] = await Product.query().orderBy('id').limit(2).all();
    const [lampV, chairV] = [lamp!.version, chair!.version];
    // Someone changes the chair after the list was shown.
    const other = await open(`/products/${chair!.id}/edit`);
    await other.fill('#f-stock', '5');
    expect(await submit(other, '#save')).to.equal(200);

    await list.check(`#product-${lamp!.id} input[type=checkbox]`);
    await list.check(`#product-${chair!.id} input[type=checkbox]`);
    expect(await submit(list, '#restock')).to.equal(409);
    expect(await list.textContent('#error')).to.contain(`${chair!.id} (version ${chairV} -> ${chairV + 1})`).and.contain('did not run');
    expect(await list.getAttribute(`#product-${chair!.id}`, 'class')).to.equal('conflict');
    expect((await row(lamp!.id)).stock).to.equal(12);
    expect((await row(chair!.id)).stock).to.equal(5);

    // The refused page shows the current versions: selecting again works.
    await list.check(`#product-${lamp!.id} input[type=checkbox]`);
    await list.check(`#product-${chair!.id} input[type=checkbox]`);
    expect(await submit(list, '#restock')).to.equal(200);
    expect(await list.textContent('#notice')).to.contain('Restocked 2 products');
    expect(await row(lamp!.id)).to.include({ stock: 22, version: lampV + 1 });
    expect(await row(chair!.id)).to.include({ stock: 15, version: chairV + 2 });
    await list.close();
    await other.close();
  });
});
