import { expect } from 'chai';
import express from 'express';
import { DoesNotExist, RetryableError, UsageError, ValidationError } from '../lib';
import { problemFor } from '../lib/http';
import { problemHandler } from '../lib/http/express';
import { listenOnLoopback, request, RunningServer } from './support/http-server';

// The error-to-status table, and the Express handler over real HTTP. No
// database involved: these errors are built as the library builds them.
describe('problem documents (problemFor, knex-concurrency/express problemHandler)', () => {
  let server: RunningServer;
  const retryable = (): RetryableError =>
    new RetryableError('deadlock', { dialect: 'postgres', code: '40P01', label: 'PostgreSQL 40P01 deadlock_detected', phase: 'statement', inTransaction: true }, new Error('driver'));

  before(async () => {
    const app = express();
    app.get('/retryable', () => {
      throw retryable();
    });
    app.get('/validation', async () => {
      throw new ValidationError('Product', 'price', 'expected a number');
    });
    app.get('/plain', () => {
      throw new Error('not ours');
    });
    app.get('/usage', () => {
      throw new UsageError('a programming error');
    });
    app.use(problemHandler({ retryAfterSeconds: 3 }));
    // What the handler passes on reaches the app's own handler, untouched.
    app.use((err: Error, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      res.status(500).json({ passedOn: err.message });
    });
    server = await listenOnLoopback(app);
  });
  after(async () => {
    await server?.close();
  });

  it('RetryableError is 503 with Retry-After; ValidationError 422 naming the field', async () => {
    const r = await request(`${server.url}/retryable`);
    expect(r.status).to.equal(503);
    expect(r.headers.get('retry-after')).to.equal('3');
    expect(r.headers.get('content-type')).to.match(/^application\/problem\+json/);
    expect(r.body).to.include({ status: 503, reason: 'deadlock', type: 'urn:knex-concurrency:problem:retryable' });
    const v = await request(`${server.url}/validation`);
    expect(v.status).to.equal(422);
    expect(v.body).to.include({ status: 422, model: 'Product', field: 'price', title: 'Invalid value for price' });
  });

  it('nothing else is swallowed: other errors, UsageError included, go on to the next handler', async () => {
    expect(await request(`${server.url}/plain`)).to.include({ status: 500 }).and.have.nested.property('body.passedOn', 'not ours');
    expect(await request(`${server.url}/usage`)).to.include({ status: 500 }).and.have.nested.property('body.passedOn', 'a programming error');
    expect(problemFor(new Error('x'))).to.equal(undefined);
    expect(problemFor('a string')).to.equal(undefined);
    expect(problemFor(new UsageError('x'))).to.equal(undefined);
  });

  it('DoesNotExist is 404; Retry-After defaults to 1 second', () => {
    expect(problemFor(new DoesNotExist('Product', 7))).to.deep.include({ status: 404 });
    expect(problemFor(retryable())!.headers['Retry-After']).to.equal('1');
  });
});
