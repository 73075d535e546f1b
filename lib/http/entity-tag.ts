import { InvalidPreconditionError } from './http-errors';

/**
 * Parsing of `If-Match` / `If-None-Match` (RFC 9110 §8.8.3, §13.1): a list of
 * entity tags, each `"opaque"` or weak `W/"opaque"`, or `*`.
 */

export interface EntityTag {
  readonly weak: boolean;
  /** The text between the quotes. */
  readonly opaque: string;
}

// etagc = %x21 / %x23-7E / obs-text: any visible character but the quote.
const TAG = /^\s*(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"\s*(?:,|$)/;

/** The header's value as one string (Node gives a repeated header as an array). */
export function headerValue(header: string | readonly string[] | undefined): string | undefined {
  if (header === undefined) return undefined;
  if (typeof header === 'string') return header;
  return header.length === 0 ? undefined : header.join(', ');
}

/**
 * The tags of a header, or `'*'`. Throws `InvalidPreconditionError` (400) for
 * text that is not a list of entity tags: guessing what a malformed
 * precondition meant could let a write through that should not pass.
 */
export function parseEntityTags(name: string, value: string): EntityTag[] | '*' {
  if (value.trim() === '*') return '*';
  const tags: EntityTag[] = [];
  let rest = value;
  while (rest.trim() !== '') {
    const m = TAG.exec(rest);
    if (m === null) {
      throw new InvalidPreconditionError(name, `${JSON.stringify(value.slice(0, 100))} is not a list of entity tags: send the ETag exactly as it was received, quotes included`);
    }
    tags.push({ weak: m[1] !== undefined, opaque: m[2]! });
    rest = rest.slice(m[0].length);
  }
  if (tags.length === 0) throw new InvalidPreconditionError(name, 'is empty: send the ETag you received, or leave the header out');
  return tags;
}
