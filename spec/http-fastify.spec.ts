import { expect } from 'chai';
import Fastify, { FastifyInstance } from 'fastify';
import { problemErrorHandler, replyWithETag, requireIfMatch } from '../lib/http/fastify';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { request } from './support/http-server';

// The Fastify adapter over real HTTP: the same statuses as the Express one.
forEachDialect('knex-concurrency/fastify: ETag, If-Match and problem documents', (d) => {
  const kind = VERSION_KINDS.find((k) => k.name === 'AutoIncVersionField') ?? VERSION_KINDS[0]!;
  const table = 'fastify_products';
  let Product: ReturnType<typeof productModel>;
  let app: FastifyInstance;
  let base: string;

  before(async () => {
    await createProductTable(d.knex, table, kind);
    Product = productModel(d.db, table, kind);
    app = Fastify();
    app.setErrorHandler(problemErrorHandler({ retryAfterSeconds: 2 }));
    app.get<{ Params: { id: string } }>('/products/:id', async (req, reply) => replyWithETag(req, reply, await Product.get(Number(req.params.id))));
    app.put<{ Params: { id: string }; Body: { name: unknown } }>('/products/:id', async (req, reply) => {
      const p = await Product.get(Number(req.params.id));
      requireIfMatch(req, p);
      p.name = req.body.name as string;
      await p.save();
      return replyWithETag(req, reply, p);
    });
    // A write that loses the race after its precondition passed: 409.
    app.post<{ Params: { id: string } }>('/products/:id/race', async (req, reply) => {
      const p = await Product.get(Number(req.params.id));
      requireIfMatch(req, p);
      await d.knex(table).where({ id: p.id }).update({ name: 'sneaked in', version: p.version + 1 });
      p.name = 'mine';
      await p.save();
      return replyWithETag(req, reply, p);
    });
    app.get('/boom', async () => {
      throw new Error('not ours');
    });
    base = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await app?.close();
  });

  it('200 with ETag, 304, 428, 412, 400, 422, 404', async () => {
    const p = await Product.create({ name: 'lamp' });
    const url = `${base}/products/${p.id}`;
    const tag = `"Product:${p.id}:${p.version}"`;
    const get = await request(url);
    expect(get.status).to.equal(200);
    expect(get.headers.get('etag')).to.equal(tag);
    expect((await request(url, { headers: { 'if-none-match': tag } })).status).to.equal(304);
    const missing = await request(url, { method: 'PUT', json: { name: 'x' } });
    expect(missing.status).to.equal(428);
    expect(missing.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(missing.body.type).to.equal('urn:knex-concurrency:problem:precondition-required');
    expect((await request(url, { method: 'PUT', headers: { 'if-match': `W/${tag}` }, json: { name: 'x' } })).status).to.equal(400);
    expect((await request(url, { method: 'PUT', headers: { 'if-match': tag }, json: { name: 42 } })).body).to.include({ status: 422, field: 'name' });
    const ok = await request(url, { method: 'PUT', headers: { 'if-match': tag }, json: { name: 'new' } });
    expect(ok.status).to.equal(200);
    expect(ok.headers.get('etag')).to.equal(`"Product:${p.id}:${p.version + 1}"`);
    expect((await request(url, { method: 'PUT', headers: { 'if-match': tag }, json: { name: 'stale' } })).status).to.equal(412);
    expect((await request(`${base}/products/999999`)).body).to.include({ status: 404, model: 'Product' });
  });

  it('409 with the conflict report for a write that loses the race; other errors are left to Fastify (500)', async () => {
    const p = await Product.create({ name: 'lamp' });
    const r = await request(`${base}/products/${p.id}/race`, { method: 'POST', headers: { 'if-match': `"Product:${p.id}:${p.version}"` } });
    expect(r.status).to.equal(409);
    expect(r.body).to.include({ status: 409, model: 'Product', pk: p.id, expectedVersion: p.version, actualVersion: p.version + 1 });
    expect(r.body.conflict.conflictingFields).to.deep.equal(['name']);
    expect(r.body.conflict.current).to.include({ name: 'sneaked in' });
    const boom = await request(`${base}/boom`);
    expect(boom.status).to.equal(500);
    expect(boom.headers.get('content-type')).not.to.match(/problem/);
  });
});
