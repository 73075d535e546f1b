import { createHmac, timingSafeEqual } from 'node:crypto';
import { UsageError } from '../errors';
import { Model, rowIdentity } from '../model';
import { metaOf } from '../model-registry';
import { InvalidVersionTokenError } from './http-errors';

/**
 * Signed version tokens for HTML forms: the version a form was rendered
 * with travels in a hidden field that the user cannot change (a user who
 * could would simply claim the newest version and overwrite unseen changes).
 */

/** One secret, or several for key rotation: the first signs, any of them verifies. */
export type Secrets = string | Buffer | readonly (string | Buffer)[];

/** What a valid token says. */
export interface VerifiedVersion {
  /** The primary key the form was rendered for. */
  readonly pk: unknown;
  /** The version the form was rendered with: assign it before saving, so the save checks it. */
  readonly version: number;
}

/** The form field name used in messages. */
const FIELD = 'version token';
const MIN_SECRET_BYTES = 16;

function secretList(secrets: Secrets, caller: string): Buffer[] {
  const list = (Array.isArray(secrets) ? secrets : [secrets]) as (string | Buffer)[];
  if (list.length === 0) throw new UsageError(`${caller}(): give at least one secret`);
  return list.map((s) => {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.isBuffer(s) ? s : undefined;
    if (b === undefined) throw new UsageError(`${caller}(): a secret is a string or a Buffer, not ${typeof s}`);
    if (b.length < MIN_SECRET_BYTES) throw new UsageError(`${caller}(): a secret of ${b.length} bytes is too short to sign with; use ${MIN_SECRET_BYTES} bytes or more (e.g. crypto.randomBytes(32).toString('hex'))`);
    return b;
  });
}

function mac(secret: Buffer, model: string, pkJson: string, version: number): Buffer {
  // NUL cannot occur in a model name, in JSON text or in a number, so the parts cannot be shifted into each other.
  return createHmac('sha256', secret).update(`knex-concurrency/version-token/v1\0${model}\0${pkJson}\0${version}`).digest();
}

/**
 * A token for a form's hidden field: the instance's model, primary key and
 * version, signed with HMAC-SHA256. `"<model>.<key>.<version>.<signature>"`,
 * URL- and HTML-safe. Not encrypted: the key and version are readable.
 *
 * @example
 * ```ts
 * import { signVersion } from 'knex-concurrency/http';
 * html`<input type="hidden" name="_version" value="${signVersion(product, process.env.FORM_SECRET!)}">`;
 * ```
 */
export function signVersion(instance: Model, secrets: Secrets): string {
  const [secret] = secretList(secrets, 'signVersion');
  const { meta, pk, version } = rowIdentity(instance, 'signVersion');
  if (typeof version !== 'number') throw new UsageError(`signVersion(): this ${meta.modelName} holds no version`);
  const pkJson = JSON.stringify(pk);
  const sig = mac(secret!, meta.modelName, pkJson, version).toString('base64url');
  return `${meta.modelName}.${Buffer.from(pkJson).toString('base64url')}.${version}.${sig}`;
}

/**
 * Checks a token from a form against `Model` and the secrets (any of them,
 * so a rotated-out key still verifies the forms it signed), in constant
 * time, and returns the key and version it carries. A missing, malformed,
 * tampered, foreign-model or unknown-key token is an
 * `InvalidVersionTokenError` (a `ValidationError`; 400): never a crash, and
 * nothing is logged.
 *
 * @example
 * ```ts
 * const { pk, version } = verifyVersion(req.body._version, [newSecret, oldSecret], Product);
 * const p = await Product.get(pk);
 * p.version = version;          // the save checks the version the form showed
 * p.name = req.body.name;
 * await p.save();               // RecordModifiedError if someone saved meanwhile
 * ```
 */
export function verifyVersion(token: unknown, secrets: Secrets, Model_: typeof Model): VerifiedVersion {
  const list = secretList(secrets, 'verifyVersion');
  const meta = metaOf(Model_);
  const model = meta.modelName;
  if (token === undefined || token === null || token === '') throw new InvalidVersionTokenError(model, FIELD, 'is missing: the form must post the token it was rendered with');
  if (typeof token !== 'string') throw new InvalidVersionTokenError(model, FIELD, `must be a string, not ${Array.isArray(token) ? 'a list' : typeof token}`);
  const parts = token.length > 2048 ? [] : token.split('.');
  if (parts.length !== 4) throw new InvalidVersionTokenError(model, FIELD, 'is malformed: it was not made by signVersion(); reload the form');
  const [tokenModel, pk64, versionText, sig64] = parts as [string, string, string, string];
  if (tokenModel !== model) throw new InvalidVersionTokenError(model, FIELD, `was made for ${tokenModel.slice(0, 64)}, not ${model}: reload the form`);
  if (!/^(0|[1-9][0-9]{0,15})$/.test(versionText)) throw new InvalidVersionTokenError(model, FIELD, 'is malformed: it was not made by signVersion(); reload the form');
  const version = Number(versionText);
  const pkJson = Buffer.from(pk64, 'base64url').toString('utf8');
  const given = Buffer.from(sig64, 'base64url');
  const valid = list.some((secret) => {
    const expected = mac(secret, model, pkJson, version);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!valid) throw new InvalidVersionTokenError(model, FIELD, 'has a bad signature: it was changed, or signed with a key that is no longer accepted; reload the form');
  let pk: unknown;
  try {
    pk = JSON.parse(pkJson);
  } catch {
    // Signed by us, so this cannot happen unless a secret leaked.
    throw new InvalidVersionTokenError(model, FIELD, 'is malformed: it was not made by signVersion(); reload the form');
  }
  return { pk, version };
}
