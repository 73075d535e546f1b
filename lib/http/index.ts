/**
 * knex-concurrency/http: framework-neutral HTTP and form helpers, with no
 * dependencies. ETag / If-Match for JSON APIs, problem documents for the
 * library's errors, signed version tokens for HTML forms, and a guard for
 * bulk actions on "pk,version" selections. The Express and Fastify adapters
 * (`knex-concurrency/express`, `knex-concurrency/fastify`) are thin layers
 * over these.
 */
export { etag, checkIfMatch, isNotModified } from './etag';
export type { CheckIfMatchOptions } from './etag';
export { parseEntityTags } from './entity-tag';
export type { EntityTag } from './entity-tag';
export { problemFor, PROBLEM_CONTENT_TYPE } from './problem-for';
export type { HttpProblem, ProblemDocument, ProblemOptions } from './problem-for';
export { signVersion, verifyVersion } from './version-token';
export type { Secrets, VerifiedVersion } from './version-token';
export { guardSelection } from './guard-selection';
export {
  PreconditionRequiredError,
  PreconditionFailedError,
  InvalidPreconditionError,
  InvalidVersionTokenError,
  StaleSelectionError,
} from './http-errors';
export type { StaleRow } from './http-errors';
