/**
 * knex-concurrency/fastify: the HTTP helpers for Fastify 5. Only the few
 * members of `request` and `reply` used here are typed (structurally), so
 * this module loads without Fastify and adds no dependency.
 */
import type { Model } from '../model';
import { checkIfMatch, etag, isNotModified, type CheckIfMatchOptions } from './etag';
import { problemFor, type ProblemOptions } from './problem-for';

/** The part of a Fastify request these helpers read. */
export interface FastifyRequestLike {
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** The part of a Fastify reply these helpers use. */
export interface FastifyReplyLike {
  code(statusCode: number): this;
  headers(values: Record<string, string>): this;
  header(name: string, value: string): this;
  send(payload?: unknown): this;
}

/**
 * A Fastify error handler that answers the library's errors with their
 * problem document (`application/problem+json`; see `problemFor`) and
 * rethrows every other error, which Fastify hands to its parent handler.
 *
 * @example
 * ```ts
 * import { problemErrorHandler } from 'knex-concurrency/fastify';
 * app.setErrorHandler(problemErrorHandler());
 * ```
 */
export function problemErrorHandler(options: ProblemOptions = {}) {
  return async function knexConcurrencyProblems(error: unknown, _request: FastifyRequestLike, reply: FastifyReplyLike): Promise<unknown> {
    const problem = problemFor(error, options);
    if (problem === undefined) throw error;
    return reply.code(problem.status).headers({ ...problem.headers }).send(JSON.stringify(problem.body));
  };
}

/**
 * Replies with `body` (default: the instance) and the instance's ETag, or
 * 304 Not Modified when the request's `If-None-Match` names it.
 *
 * @example
 * ```ts
 * app.get('/products/:id', async (request, reply) => replyWithETag(request, reply, await Product.get(Number(request.params.id))));
 * ```
 */
export function replyWithETag(request: FastifyRequestLike, reply: FastifyReplyLike, instance: Model, body: unknown = instance): FastifyReplyLike {
  reply.header('ETag', etag(instance));
  if (isNotModified(instance, request.headers['if-none-match'])) return reply.code(304).send();
  return reply.send(body);
}

/** `checkIfMatch(instance, request.headers['if-match'], options)`: throws 428, 412 or 400 errors for `problemErrorHandler`. */
export function requireIfMatch(request: FastifyRequestLike, instance: Model, options?: CheckIfMatchOptions): void {
  checkIfMatch(instance, request.headers['if-match'], options);
}
