import { DoesNotExist, RecordDeletedError, RecordModifiedError, RetryableError, ValidationError } from '../errors';
import {
  InvalidPreconditionError,
  InvalidVersionTokenError,
  PreconditionFailedError,
  PreconditionRequiredError,
  StaleSelectionError,
} from './http-errors';

/** An RFC 9457 problem document: the standard members, then the error's data. */
export interface ProblemDocument {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly [member: string]: unknown;
}

/** What to answer: a status, headers (`Content-Type: application/problem+json` among them) and the document. */
export interface HttpProblem {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: ProblemDocument;
}

export interface ProblemOptions {
  /** Seconds for `Retry-After` on a 503 (default 1). */
  readonly retryAfterSeconds?: number;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

function problem(status: number, slug: string, title: string, err: Error, members: Record<string, unknown>, headers: Record<string, string> = {}): HttpProblem {
  return {
    status,
    headers: { 'Content-Type': PROBLEM_CONTENT_TYPE, ...headers },
    body: { type: `urn:knex-concurrency:problem:${slug}`, title, status, detail: err.message, ...members },
  };
}

/**
 * The HTTP answer for an error of the library, or `undefined` for any other
 * error (rethrow it: nothing is swallowed).
 *
 * | error | status |
 * | --- | --- |
 * | `RecordModifiedError` | 409 Conflict, with the conflict report (private fields left out) |
 * | `RecordDeletedError` | 410 Gone: the row is not coming back, so retrying cannot help |
 * | `StaleSelectionError` | 409 Conflict, naming every stale row |
 * | `PreconditionFailedError` | 412 Precondition Failed |
 * | `PreconditionRequiredError` | 428 Precondition Required |
 * | `InvalidPreconditionError`, `InvalidVersionTokenError` | 400 Bad Request |
 * | `ValidationError` | 422 Unprocessable Content, naming the field |
 * | `DoesNotExist` | 404 Not Found |
 * | `RetryableError` | 503 Service Unavailable, with `Retry-After` |
 *
 * @example
 * ```ts
 * const p = problemFor(err);
 * if (p === undefined) throw err;
 * res.writeHead(p.status, p.headers).end(JSON.stringify(p.body));
 * ```
 */
export function problemFor(err: unknown, options: ProblemOptions = {}): HttpProblem | undefined {
  if (!(err instanceof Error)) return undefined;
  if (err instanceof RecordDeletedError) {
    return problem(410, 'record-deleted', 'The record was deleted by someone else', err, {
      model: err.model,
      pk: err.pk,
      operation: err.operation,
      expectedVersion: err.expectedVersion,
    });
  }
  if (err instanceof RecordModifiedError) {
    return problem(409, 'record-modified', 'The record was changed by someone else', err, {
      model: err.model,
      pk: err.pk,
      operation: err.operation,
      expectedVersion: err.expectedVersion,
      actualVersion: err.actualVersion,
      ...(err.conflictReport === undefined ? {} : { conflict: err.conflictReport.toJSON() }),
    });
  }
  if (err instanceof StaleSelectionError) {
    return problem(409, 'stale-selection', 'Rows of the selection changed since they were shown', err, { model: err.model, stale: err.stale });
  }
  if (err instanceof PreconditionFailedError) {
    return problem(412, 'precondition-failed', 'The version you sent is not the current one', err, {
      model: err.model,
      pk: err.pk,
      expectedVersions: err.expectedVersions,
      actualVersion: err.actualVersion,
    });
  }
  if (err instanceof PreconditionRequiredError) {
    return problem(428, 'precondition-required', 'This write needs If-Match', err, { model: err.model, pk: err.pk });
  }
  if (err instanceof InvalidPreconditionError) {
    return problem(400, 'invalid-precondition', `Invalid ${err.header} header`, err, { header: err.header });
  }
  if (err instanceof InvalidVersionTokenError) {
    return problem(400, 'invalid-version-token', 'Invalid version token', err, { model: err.model, field: err.field });
  }
  if (err instanceof ValidationError) {
    return problem(422, 'validation', `Invalid value for ${err.field}`, err, { model: err.model, field: err.field });
  }
  if (err instanceof DoesNotExist) {
    return problem(404, 'does-not-exist', 'No such record', err, { model: err.model, pk: err.pk });
  }
  if (err instanceof RetryableError) {
    const seconds = Math.max(0, Math.ceil(options.retryAfterSeconds ?? 1));
    return problem(503, 'retryable', 'The database asked to retry', err, { reason: err.reason }, { 'Retry-After': String(seconds) });
  }
  return undefined;
}
