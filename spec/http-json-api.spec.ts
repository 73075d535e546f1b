import { expect } from 'chai';
import { createApp } from '../examples/inventory/app';
import { ensureSchema, Product } from '../examples/inventory/product';
import { forEachDialect } from './support/for-each-dialect';
import { listenOnLoopback, request, RunningServer } from './support/http-server';

// The example's JSON API, over real HTTP: ETag on reads, If-Match on writes,
// and RFC 9457 problem documents for every refusal.
forEachDialect('HTTP JSON API (examples/inventory): ETag, If-Match, problem+json', (d) => {
  let server: RunningServer;
  let desk: { id: number; version: number };

  before(async () => {
    Product.bind(d.db);
    server = await listenOnLoopback(createApp({ secrets: ['a-test-secret-of-32-characters!!'] }));
  });
  after(async () => {
    await server?.close();
  });
  beforeEach(async () => {
    await d.knex.schema.dropTableIfExists(Product.table);
    await ensureSchema(d.knex);
    const p = await Product.query().where('name', 'Desk lamp').first();
    desk = { id: p!.id, version: p!.version };
  });

  const url = (id: number): string => `${server.url}/api/products/${id}`;
  const tag = (version: number): string => `"Product:${desk.id}:${version}"`;

  it('GET answers 200 with a strong ETag bound to model, key and version; If-None-Match gives 304', async () => {
    const r = await request(url(desk.id));
    expect(r.status).to.equal(200);
    expect(r.headers.get('etag')).to.equal(tag(desk.version));
    expect(r.body).to.include({ id: desk.id, name: 'Desk lamp', version: desk.version });
    const again = await request(url(desk.id), { headers: { 'If-None-Match': tag(desk.version) } });
    expect(again.status).to.equal(304);
    expect(again.headers.get('etag')).to.equal(tag(desk.version));
    // If-None-Match compares weakly (RFC 9110 13.1.2), and takes a list.
    expect((await request(url(desk.id), { headers: { 'If-None-Match': `"x", W/${tag(desk.version)}` } })).status).to.equal(304);
    expect((await request(url(desk.id), { headers: { 'If-None-Match': tag(desk.version + 1) } })).status).to.equal(200);
    // Another record's tag at the same version does not match.
    expect((await request(url(desk.id), { headers: { 'If-None-Match': `"Product:${desk.id + 1}:${desk.version}"` } })).status).to.equal(200);
  });

  it('PUT without If-Match is 428 Precondition Required, with a problem document, and writes nothing', async () => {
    const r = await request(url(desk.id), { method: 'PUT', json: { name: 'Unguarded' } });
    expect(r.status).to.equal(428);
    expect(r.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(r.body).to.include({ status: 428, type: 'urn:knex-concurrency:problem:precondition-required', model: 'Product', pk: desk.id });
    expect(r.body.detail).to.match(/If-Match/);
    expect((await Product.get(desk.id)).name).to.equal('Desk lamp');
  });

  it('PUT with the current ETag saves and answers the new ETag; the old one is then 412 Precondition Failed', async () => {
    const ok = await request(url(desk.id), { method: 'PUT', headers: { 'If-Match': tag(desk.version) }, json: { name: 'Desk lamp XL', stock: 3 } });
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('etag')).to.equal(tag(desk.version + 1));
    expect(ok.body).to.include({ name: 'Desk lamp XL', stock: 3, version: desk.version + 1 });
    const stale = await request(url(desk.id), { method: 'PUT', headers: { 'If-Match': tag(desk.version) }, json: { name: 'Lost update?' } });
    expect(stale.status).to.equal(412);
    expect(stale.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(stale.body).to.include({ status: 412, model: 'Product', pk: desk.id, actualVersion: desk.version + 1 });
    expect(stale.body.expectedVersions).to.deep.equal([desk.version]);
    const row = await d.knex(Product.table).where({ id: desk.id }).first();
    expect(row.name).to.equal('Desk lamp XL');
    expect(Number(row.version)).to.equal(desk.version + 1);
  });

  it('a tag of another record, a weak tag, * and a malformed header are refused before anything is written', async () => {
    const other = await request(url(desk.id), { method: 'PUT', headers: { 'If-Match': `"Product:${desk.id + 1}:${desk.version}"` }, json: { name: 'x' } });
    expect(other.status).to.equal(412);
    expect(other.body.detail).to.match(/another record/);
    for (const bad of [`W/${tag(desk.version)}`, '*', 'Product:1:1', '"unterminated']) {
      const r = await request(url(desk.id), { method: 'PUT', headers: { 'If-Match': bad }, json: { name: 'x' } });
      expect(r.status, bad).to.equal(400);
      expect(r.body.type, bad).to.equal('urn:knex-concurrency:problem:invalid-precondition');
    }
    const row = await d.knex(Product.table).where({ id: desk.id }).first();
    expect(row.name).to.equal('Desk lamp');
    expect(Number(row.version)).to.equal(desk.version);
  });

  it('a value of the wrong type is 422 naming the field, and writes nothing', async () => {
    const r = await request(url(desk.id), { method: 'PUT', headers: { 'If-Match': tag(desk.version) }, json: { stock: 'many' } });
    expect(r.status).to.equal(422);
    expect(r.body).to.include({ status: 422, model: 'Product', field: 'stock' });
    const unknown = await request(url(desk.id), { method: 'PUT', headers: { 'If-Match': tag(desk.version) }, json: { colour: 'red' } });
    expect(unknown.status).to.equal(422);
    expect(unknown.body.field).to.equal('colour');
    expect(Number((await d.knex(Product.table).where({ id: desk.id }).first()).version)).to.equal(desk.version);
  });

  it('PATCH from an old base that changed the same field is 409 with the conflict report, private fields left out', async () => {
    const base = (await request(url(desk.id))).body;
    expect(base.supplierCost).to.equal(21.5);
    // Someone else saves first.
    const other = await request(url(desk.id), { method: 'PUT', headers: { 'If-Match': tag(desk.version) }, json: { name: 'Desk lamp (theirs)', price: 44, supplierCost: 25 } });
    expect(other.status).to.equal(200);
    const r = await request(url(desk.id), { method: 'PATCH', headers: { 'If-Match': tag(desk.version) }, json: { base, changes: { name: 'Desk lamp (mine)', stock: 7, supplierCost: 19 } } });
    expect(r.status).to.equal(409);
    expect(r.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(r.body).to.include({ type: 'urn:knex-concurrency:problem:record-modified', status: 409, model: 'Product', pk: desk.id, operation: 'update', expectedVersion: desk.version, actualVersion: desk.version + 1 });
    expect(r.body.detail).to.match(/changed by someone else/);
    const c = r.body.conflict;
    expect(c.conflictingFields).to.deep.equal(['name']);
    expect(c.changedByMe).to.deep.equal(['name', 'stock']);
    expect(c.changedByThem).to.deep.equal(['name', 'price']);
    expect(c.original).to.include({ name: 'Desk lamp', price: 39.9, stock: 12 });
    expect(c.attempted).to.include({ name: 'Desk lamp (mine)', stock: 7 });
    expect(c.current).to.include({ name: 'Desk lamp (theirs)', price: 44, version: desk.version + 1 });
    // The supplier cost is private: no value of it, and not even its name, anywhere in the document.
    // (Values are matched as whole JSON numbers: versions are clock-derived and hold all sorts of digits.)
    expect(JSON.stringify(r.body)).not.to.match(/supplierCost|[:,[]21\.5[,}\]]|[:,[]19[,}\]]|[:,[]25[,}\]]/);
    const row = await d.knex(Product.table).where({ id: desk.id }).first();
    expect(row.name).to.equal('Desk lamp (theirs)');
    expect(Number(row.stock)).to.equal(12);
  });

  it('PATCH from an old base that changed other fields is merged and saved (200), keeping both changes', async () => {
    const base = (await request(url(desk.id))).body;
    await request(url(desk.id), { method: 'PUT', headers: { 'If-Match': tag(desk.version) }, json: { price: 44 } });
    const r = await request(url(desk.id), { method: 'PATCH', headers: { 'If-Match': tag(desk.version) }, json: { base, changes: { stock: 30 } } });
    expect(r.status).to.equal(200);
    expect(r.headers.get('etag')).to.equal(tag(desk.version + 2));
    const row = await d.knex(Product.table).where({ id: desk.id }).first();
    expect({ price: Number(row.price), stock: Number(row.stock), version: Number(row.version) }).to.deep.equal({ price: 44, stock: 30, version: desk.version + 2 });
  });

  it('a deleted record: GET and PUT are 404, a PATCH from its old base is 410 Gone', async () => {
    const base = (await request(url(desk.id))).body;
    await d.knex(Product.table).where({ id: desk.id }).del();
    expect((await request(url(desk.id))).status).to.equal(404);
    expect((await request(url(desk.id), { method: 'PUT', headers: { 'If-Match': tag(desk.version) }, json: { name: 'x' } })).status).to.equal(404);
    const r = await request(url(desk.id), { method: 'PATCH', headers: { 'If-Match': tag(desk.version) }, json: { base, changes: { name: 'back?' } } });
    expect(r.status).to.equal(410);
    expect(r.body).to.include({ type: 'urn:knex-concurrency:problem:record-deleted', model: 'Product', pk: desk.id, expectedVersion: desk.version });
    expect(await d.knex(Product.table).where({ id: desk.id }).first()).to.equal(undefined);
  });
});
