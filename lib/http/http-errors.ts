import { KnexConcurrencyError, ValidationError } from '../errors';

/**
 * The errors of the HTTP helpers. Each knows its status code, so
 * `problemFor()` (and the Express and Fastify handlers) answer with it; each
 * says what the client should do.
 */

/** A write arrived without `If-Match` on a route that requires it: 428 Precondition Required (RFC 6585). */
export class PreconditionRequiredError extends KnexConcurrencyError {
  readonly status = 428;
  readonly model: string;
  readonly pk: unknown;

  constructor(model: string, pk: unknown) {
    super(
      `${model} ${String(pk)} can only be changed with an If-Match header naming the version you read ` +
        `(the ETag of GET); nothing was written. Fetch it, then send If-Match: <its ETag>.`,
    );
    this.model = model;
    this.pk = pk;
  }
}

/** `If-Match` names a version (or a record) the resource no longer has: 412 Precondition Failed. */
export class PreconditionFailedError extends KnexConcurrencyError {
  readonly status = 412;
  readonly model: string;
  readonly pk: unknown;
  /** The versions the request's `If-Match` named (for this record; empty when it named other records only). */
  readonly expectedVersions: readonly number[];
  /** The version the record holds. */
  readonly actualVersion: number | null;

  constructor(details: { model: string; pk: unknown; expectedVersions: readonly number[]; actualVersion: number | null; foreign: boolean }) {
    const named = details.foreign
      ? 'names another record'
      : `names version ${details.expectedVersions.join(' or ')}`;
    super(
      `${details.model} ${String(details.pk)}: If-Match ${named}, but it is at version ${details.actualVersion}; ` +
        `nothing was written. Fetch it again, re-apply your change, and send the new ETag.`,
    );
    this.model = details.model;
    this.pk = details.pk;
    this.expectedVersions = details.expectedVersions;
    this.actualVersion = details.actualVersion;
  }
}

/** An `If-Match` / `If-None-Match` header that cannot guard a write (weak, `*`, malformed): 400 Bad Request. */
export class InvalidPreconditionError extends KnexConcurrencyError {
  readonly status = 400;
  readonly header: string;

  constructor(header: string, problem: string) {
    super(`${header}: ${problem}`);
    this.header = header;
  }
}

/**
 * A signed version token from a form that is missing, tampered with, signed
 * with an unknown key, or made for another model: 400 Bad Request. A
 * `ValidationError` on the form's token field.
 */
export class InvalidVersionTokenError extends ValidationError {
  readonly status = 400;

  constructor(model: string, field: string, problem: string) {
    super(model, field, problem);
  }
}

/** One row of a bulk selection that is not at the version the selection named. */
export interface StaleRow {
  readonly pk: unknown;
  /** The version the selection named. */
  readonly expectedVersion: number;
  /** The version the row has now; `null` when it was deleted. */
  readonly actualVersion: number | null;
}

/**
 * `guardSelection()` found rows of the selection changed or deleted since the
 * page was shown; the action did not run and nothing was written: 409
 * Conflict. Every stale row is named, not only the first.
 */
export class StaleSelectionError extends KnexConcurrencyError {
  readonly status = 409;
  readonly model: string;
  readonly stale: readonly StaleRow[];

  constructor(model: string, stale: readonly StaleRow[]) {
    const rows = stale.map((r) => (r.actualVersion === null ? `${String(r.pk)} (deleted)` : `${String(r.pk)} (version ${r.expectedVersion} -> ${r.actualVersion})`));
    super(
      `${model}: ${stale.length} of the selected rows changed since they were shown: ${rows.join(', ')}. ` +
        `The action did not run and nothing was written: reload the list and select again.`,
    );
    this.model = model;
    this.stale = stale;
  }
}
