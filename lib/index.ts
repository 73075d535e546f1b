/**
 * knex-concurrency: a small ORM on Knex whose every write is a
 * compare-and-swap on a version column. This file is the whole public API;
 * anything not exported here is private.
 */

// Connecting
export { connect } from './connect';
export type { ConnectOptions, ConnectTarget } from './connect';
export type { MemberTarget, NodesTopology, ReplicaTopology, Topology } from './topology/topology';
export type { DatabaseLogger } from './knex-log';
export type { PreparedStatementsOption } from './dialects/prepared-statements-option';
export { Database } from './database';
export type { TransactionOptions } from './database';
export type { IsolationLevel } from './transactions/isolation';
export type { DialectName } from './dialects/dialect-adapter';

// Models and queries
export { Model } from './model';
export type { Attributes, CreateAttributes, ModelClass, SaveOptions } from './model-types';
export type { SaveAllOptions } from './save-all';
export type { ModelConcurrencyOptions } from './model-meta';
export { ModelQuery } from './model-query';
export { restore } from './restore';

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
export { TriggerVersionField } from './fields/trigger-version-field';
export { ConditionalVersionField } from './fields/conditional-version-field';
export type { ConditionalVersionFieldOptions } from './fields/conditional-version-field';

// Concurrency controls
export { disableConcurrency } from './disable-concurrency';
export { disableIncrement } from './disable-increment';
export { getRevision } from './get-revision';
export { applyConcurrencyCheck } from './apply-concurrency-check';
export type { VersionFieldSpec } from './apply-concurrency-check';
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
  MissingTriggerError,
  RetryableError,
  ConnectionLostError,
  DatabaseValueError,
  SchemaMismatchError,
  DatabaseUnavailableError,
  TransactionClosedError,
  DatabaseClosedError,
  StatementTimeoutError,
  ReadOnlyDatabaseError,
  BatchConflictError,
} from './errors';
export type { Operation, RetryReason, FailurePhase, UnavailableReason } from './errors';
export { ConflictReport } from './conflict-report';
export type { ConflictReportJSON, ConflictSides, MergeFunction, ResolveStrategy } from './conflict-report';

// Observability: db.on(...) and db.stats()
export type {
  ConcurrencyEventName,
  ConcurrencyEvents,
  ConcurrencyStats,
  ConflictEvent,
  DeletedEvent,
  ModelStats,
  RetryEvent,
} from './concurrency-monitor';

// Migrations
export { addVersionColumn } from './migrations/version-column';
export { checkFieldColumns } from './migrations/check-field-columns';
export type { FieldColumnProblem } from './migrations/check-field-columns';
export { migrate } from './migrations/migrate';
export { Migrator } from './migrations/migrator';
export type { MigrationEvent, MigrationRun, MigratorOptions, UnlockReport } from './migrations/migration-events';
export type { MigrationState, MigrationStatus, MigrationStatusEntry } from './migrations/migration-status';
export { TypeScriptMigrationSource } from './migrations/typescript-migration-source';
export type { MigrationFile } from './migrations/typescript-migration-source';
export {
  MigrationError,
  MigrationLoadError,
  MigrationIntegrityError,
  MigrationLockBusyError,
  MigrationRefusedError,
  MigrationFailedError,
  MigrationTriggerError,
} from './migrations/migration-errors';
export { createVersionTrigger, dropVersionTrigger, listVersionTriggers } from './migrations/version-triggers';
export type { InstalledVersionTrigger, TriggerConnection } from './migrations/version-triggers';
export { checkVersionTriggers, checkTriggersAfterMigration } from './migrations/check-version-triggers';
export { checkSchema } from './migrations/check-schema';
export type { SchemaProblem } from './migrations/check-schema';
export type { TriggerSubject, VersionTriggerProblem } from './migrations/check-version-triggers';
export { versionTriggerName } from './dialects/version-trigger-name';
