import type { Model } from '../model';
import { rowIdentity } from '../model';
import { headerValue, parseEntityTags, type EntityTag } from './entity-tag';
import { InvalidPreconditionError, PreconditionFailedError, PreconditionRequiredError } from './http-errors';

/**
 * The strong ETag of a saved instance: its model, primary key and version,
 * `"Product:7:3"`. Bound to the record, so a tag copied from another record
 * (or another model) never matches, even at the same version number.
 *
 * @example
 * ```ts
 * import { etag } from 'knex-concurrency/http';
 * res.setHeader('ETag', etag(product)); // "Product:7:3"
 * ```
 */
export function etag(instance: Model): string {
  const { meta, pk, version } = rowIdentity(instance, 'etag');
  return `"${opaqueFor(meta.modelName, pk, version)}"`;
}

/** The text inside the quotes. `:` separates the parts, so the key is percent-encoded (which also keeps quotes out). */
function opaqueFor(model: string, pk: unknown, version: unknown): string {
  return `${model}:${encodeURIComponent(String(pk))}:${String(version)}`;
}

/** The version a tag names for this record, or `undefined` for a tag of another record or model. */
function versionFor(tag: EntityTag, model: string, pk: unknown): number | undefined {
  const prefix = `${model}:${encodeURIComponent(String(pk))}:`;
  if (!tag.opaque.startsWith(prefix)) return undefined;
  const v = tag.opaque.slice(prefix.length);
  return /^(0|-?[1-9][0-9]{0,15})$/.test(v) ? Number(v) : undefined;
}

export interface CheckIfMatchOptions {
  /** Refuse a request without `If-Match` with 428 (default `true`); `false` lets it through unguarded. */
  readonly required?: boolean;
}

/**
 * Checks a write's `If-Match` header against the instance just loaded: passes
 * when one of its tags is the instance's ETag. Call it before applying the
 * change; the `save()` that follows is still a compare-and-swap, so a write
 * that slips in between becomes a 409 (`RecordModifiedError`), never a lost
 * update.
 *
 * - no header: `PreconditionRequiredError` (428), unless `required: false`;
 * - a stale version, or a tag of another record: `PreconditionFailedError` (412);
 * - a weak tag (`W/"..."`), `*`, or text that is not an entity tag:
 *   `InvalidPreconditionError` (400): none of them names the version you read.
 *
 * @example
 * ```ts
 * app.put('/products/:id', async (req, res) => {
 *   const p = await Product.get(Number(req.params.id));
 *   checkIfMatch(p, req.headers['if-match']);
 *   p.name = req.body.name;
 *   await p.save();
 *   res.set('ETag', etag(p)).json(p);
 * });
 * ```
 */
export function checkIfMatch(instance: Model, header: string | readonly string[] | undefined, options: CheckIfMatchOptions = {}): void {
  const { meta, pk, version } = rowIdentity(instance, 'checkIfMatch');
  const value = headerValue(header);
  if (value === undefined) {
    if (options.required === false) return;
    throw new PreconditionRequiredError(meta.modelName, pk);
  }
  const tags = parseEntityTags('If-Match', value);
  if (tags === '*') {
    throw new InvalidPreconditionError('If-Match', '* matches any version, so it cannot guard a write: send the ETag of the version you read');
  }
  if (tags.some((t) => t.weak)) {
    throw new InvalidPreconditionError('If-Match', 'a weak tag (W/"...") cannot guard a write (RFC 9110 compares If-Match strongly): send the strong ETag you received');
  }
  const named = tags.map((t) => versionFor(t, meta.modelName, pk)).filter((v): v is number => v !== undefined);
  if (named.includes(version as number)) return;
  throw new PreconditionFailedError({ model: meta.modelName, pk, expectedVersions: named, actualVersion: (version as number | null) ?? null, foreign: named.length === 0 });
}

/**
 * Whether a read's `If-None-Match` names the instance's current ETag, so the
 * answer is 304 Not Modified. Compared weakly, as RFC 9110 says for this
 * header (`W/"Product:7:3"` matches too); `*` matches any saved instance.
 *
 * @example
 * ```ts
 * if (isNotModified(p, req.headers['if-none-match'])) return res.status(304).end();
 * ```
 */
export function isNotModified(instance: Model, header: string | readonly string[] | undefined): boolean {
  const { meta, pk, version } = rowIdentity(instance, 'isNotModified');
  const value = headerValue(header);
  if (value === undefined) return false;
  const tags = parseEntityTags('If-None-Match', value);
  if (tags === '*') return true;
  return tags.some((t) => versionFor(t, meta.modelName, pk) === version);
}
