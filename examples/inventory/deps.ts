// The library as an application imports it: the root package and its subpaths.
export { RecordDeletedError, RecordModifiedError, ValidationError, DoesNotExist, UsageError, restore } from 'knex-concurrency';
export { guardSelection, signVersion, verifyVersion, StaleSelectionError, InvalidVersionTokenError } from 'knex-concurrency/http';
export type { StaleRow } from 'knex-concurrency/http';
export { problemHandler, requireIfMatch, sendWithETag } from 'knex-concurrency/express';
