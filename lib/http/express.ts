/**
 * knex-concurrency/express: the HTTP helpers as Express 5 middleware. Only
 * the few members of `req` and `res` used here are typed (structurally), so
 * this module loads without Express and adds no dependency.
 */
import type { Model } from '../model';
import { checkIfMatch, etag, isNotModified, type CheckIfMatchOptions } from './etag';
import { problemFor, type ProblemOptions } from './problem-for';

/** The part of an Express request these helpers read. */
export interface RequestLike {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The part of an Express response these helpers use. */
export interface ResponseLike {
  readonly headersSent: boolean;
  status(code: number): this;
  set(field: Record<string, string>): this;
  setHeader(name: string, value: string): unknown;
  end(body?: string): unknown;
  json(body: unknown): unknown;
}

/**
 * An Express error handler that answers the library's errors with their
 * problem document (`application/problem+json`; see `problemFor`) and passes
 * every other error on with `next(err)`. Register it after your routes.
 *
 * @example
 * ```ts
 * import { problemHandler } from 'knex-concurrency/express';
 * app.use(problemHandler());
 * ```
 */
export function problemHandler(options: ProblemOptions = {}) {
  return function knexConcurrencyProblems(err: unknown, _req: RequestLike, res: ResponseLike, next: (err?: unknown) => void): void {
    const problem = problemFor(err, options);
    if (problem === undefined || res.headersSent) return next(err);
    res.status(problem.status).set({ ...problem.headers });
    res.end(JSON.stringify(problem.body));
  };
}

/**
 * Sends `body` (default: the instance) as JSON with the instance's ETag, or
 * 304 Not Modified when the request's `If-None-Match` names it.
 *
 * @example
 * ```ts
 * app.get('/products/:id', async (req, res) => sendWithETag(req, res, await Product.get(Number(req.params.id))));
 * ```
 */
export function sendWithETag(req: RequestLike, res: ResponseLike, instance: Model, body: unknown = instance): void {
  res.setHeader('ETag', etag(instance));
  if (isNotModified(instance, req.headers['if-none-match'])) {
    res.status(304).end();
    return;
  }
  res.json(body);
}

/** `checkIfMatch(instance, req.headers['if-match'], options)`: throws 428, 412 or 400 errors for `problemHandler`. */
export function requireIfMatch(req: RequestLike, instance: Model, options?: CheckIfMatchOptions): void {
  checkIfMatch(instance, req.headers['if-match'], options);
}
