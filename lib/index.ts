/**
 * knex-concurrency: a small ORM on Knex whose every write is a
 * compare-and-swap on a version column. This file is the whole public API;
 * anything not exported here is private.
 */

// Connecting
export { connect } from './connect';
export type { ConnectTarget } from './connect';
export { Database } from './database';
export type { TransactionOptions } from './database';
export type { DialectName } from './dialects/dialect-adapter';

// Models and queries
export { Model } from './model';
export type { Attributes, CreateAttributes, ModelClass, SaveOptions } from './model';
export { ModelQuery } from './model-query';

// Fields
export { Field } from './fields/field';
export type { FieldOptions } from './fields/field';
export { AutoField } from './fields/auto-field';
export { IntegerField } from './fields/integer-field';
export { FloatField } from './fields/float-field';
export { CharField } from './fields/char-field';
export type { CharFieldOptions } from './fields/char-field';
export { TextField } from './fields/text-field';
export { BooleanField } from './fields/boolean-field';
export { DateTimeField } from './fields/date-time-field';
export { JsonField } from './fields/json-field';

// Version fields
export { VersionField } from './fields/version-field';
export { IntegerVersionField } from './fields/integer-version-field';
export { AutoIncVersionField } from './fields/auto-inc-version-field';

// Concurrency controls
export { disableConcurrency } from './disable-concurrency';
export { isChanged } from './is-changed';
export { retryOnConflict } from './retry-on-conflict';
export type { RetryOptions } from './retry-on-conflict';

// Errors
export {
  KnexConcurrencyError,
  RecordModifiedError,
  RecordDeletedError,
  DoesNotExist,
  ValidationError,
  ModelDefinitionError,
  UsageError,
  RetryableError,
  ConnectionLostError,
} from './errors';
export type { Operation, RetryReason, FailurePhase } from './errors';

// Migrations
export { addVersionColumn } from './migrations/version-column';
