import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import * as api from '../lib';

// The package's public surface, pinned: adding is a decision, removing or renaming breaks users.
const EXPORTS = [
  'AutoField',
  'AutoIncVersionField',
  'BatchConflictError',
  'BooleanField',
  'CharField',
  'ConditionalVersionField',
  'ConflictReport',
  'ConnectionLostError',
  'Database',
  'DatabaseClosedError',
  'DatabaseUnavailableError',
  'DatabaseValueError',
  'DateTimeField',
  'DoesNotExist',
  'Field',
  'FloatField',
  'IntegerField',
  'IntegerVersionField',
  'JsonField',
  'KnexConcurrencyError',
  'MigrationError',
  'MigrationFailedError',
  'MigrationIntegrityError',
  'MigrationLoadError',
  'MigrationLockBusyError',
  'MigrationRefusedError',
  'MigrationTriggerError',
  'Migrator',
  'MissingTriggerError',
  'Model',
  'ModelDefinitionError',
  'ModelQuery',
  'ReadOnlyDatabaseError',
  'RecordDeletedError',
  'RecordModifiedError',
  'RetryableError',
  'SchemaMismatchError',
  'StatementTimeoutError',
  'TextField',
  'TransactionClosedError',
  'TypeScriptMigrationSource',
  'TriggerVersionField',
  'UsageError',
  'ValidationError',
  'VersionField',
  'addVersionColumn',
  'applyConcurrencyCheck',
  'checkSchema',
  'checkFieldColumns',
  'checkTriggersAfterMigration',
  'checkVersionTriggers',
  'connect',
  'createVersionTrigger',
  'disableConcurrency',
  'disableIncrement',
  'dropVersionTrigger',
  'getRevision',
  'isChanged',
  'migrate',
  'restore',
  'listVersionTriggers',
  'retryOnConflict',
  'versionTriggerName',
];

const root = path.resolve(__dirname, '..', '..');

// The subpath entry points (knex-concurrency/http, /express, /fastify), pinned the same way.
const SUBPATH_EXPORTS: Record<string, string[]> = {
  http: [
    'InvalidPreconditionError',
    'InvalidVersionTokenError',
    'PROBLEM_CONTENT_TYPE',
    'PreconditionFailedError',
    'PreconditionRequiredError',
    'StaleSelectionError',
    'checkIfMatch',
    'etag',
    'guardSelection',
    'isNotModified',
    'parseEntityTags',
    'problemFor',
    'signVersion',
    'verifyVersion',
  ],
  express: ['problemHandler', 'requireIfMatch', 'sendWithETag'],
  fastify: ['problemErrorHandler', 'replyWithETag', 'requireIfMatch'],
};

describe('public API', () => {
  it('lib/index exports exactly the pinned names', () => {
    expect(Object.keys(api).sort()).to.deep.equal([...EXPORTS].sort());
  });

  it('works from plain JavaScript with require() and with import', () => {
    const names = JSON.stringify(EXPORTS);
    const cjs = execFileSync(process.execPath, ['-e', `const kc = require('knex-concurrency'); const missing = ${names}.filter((n) => !kc[n]); console.log(missing.join(',') || 'ok')`], { cwd: root }).toString().trim();
    expect(cjs).to.equal('ok');
    const esm = execFileSync(
      process.execPath,
      ['--input-type=module', '-e', `import * as kc from 'knex-concurrency'; import { connect, Model, RecordModifiedError } from 'knex-concurrency'; const missing = ${names}.filter((n) => !kc[n]); console.log(missing.join(',') || typeof connect + typeof Model + typeof RecordModifiedError)`],
      { cwd: root },
    ).toString().trim();
    expect(esm).to.equal('functionfunctionfunction');
  });

  it('the subpaths export exactly the pinned names, load through the package name, and load no web framework', () => {
    for (const [sub, names] of Object.entries(SUBPATH_EXPORTS)) {
      const script =
        `const m = require('knex-concurrency/${sub}'); ` +
        `const loaded = Object.keys(require.cache).filter((f) => /node_modules[\\\\/](express|fastify)[\\\\/]/.test(f)); ` +
        `console.log(JSON.stringify({ names: Object.keys(m).sort(), loaded }))`;
      const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root }).toString()) as { names: string[]; loaded: string[] };
      expect(out.names, sub).to.deep.equal([...names].sort());
      expect(out.loaded, `${sub} must not load a web framework`).to.deep.equal([]);
    }
  });

  it('errors share one root and keep their names', () => {
    for (const E of [api.RecordModifiedError, api.RecordDeletedError, api.DoesNotExist, api.ValidationError, api.ModelDefinitionError, api.UsageError, api.MissingTriggerError, api.RetryableError, api.ConnectionLostError, api.DatabaseValueError, api.TransactionClosedError, api.DatabaseClosedError, api.StatementTimeoutError, api.ReadOnlyDatabaseError, api.DatabaseUnavailableError, api.MigrationError, api.BatchConflictError]) {
      expect(E.prototype).to.be.instanceOf(api.KnexConcurrencyError);
    }
    expect(new api.DoesNotExist('Product', 7).name).to.equal('DoesNotExist');
    expect(new api.BatchConflictError({ model: 'P', conflicts: [], atomic: true, savedCount: 0, changedCount: 0 }).name).to.equal('BatchConflictError');
    expect(api.Model.saveAll).to.be.a('function');
    expect(api.Model.createAll).to.be.a('function');
    expect(new api.RecordDeletedError({ target: {}, model: 'P', pk: 1, operation: 'delete', expectedVersion: 3 })).to.be.instanceOf(api.RecordModifiedError);
  });
});
