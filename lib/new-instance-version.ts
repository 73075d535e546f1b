import { ValidationError } from './errors';
import type { ModelMeta } from './model-meta';

/**
 * A version given to a row that does not exist yet: `create({ version })` or
 * `p.version = 5` before the first `save()`. Both are refused alike: the
 * insert writes a version of its own (see `VersionField.initialVersion`), so
 * the value would be dropped without a word.
 */
export function newInstanceVersion(meta: ModelMeta, name: string, value: unknown): ValidationError {
  return new ValidationError(
    meta.modelName,
    name,
    'the version of a new row is set by knex-concurrency on insert; leave it out of create() and do not assign it before the first save() ' +
      '(to write with a version a client sent, load the row and assign it there)',
    value,
  );
}
