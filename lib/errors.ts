/**
 * The whole error hierarchy. Every error the library throws on purpose is a
 * `KnexConcurrencyError`; each carries the data a caller needs to react
 * (model, primary key, versions, field) and a message that says what to do.
 *
 * References to model instances are non-enumerable so that logging an error
 * does not dump a whole record graph.
 */

export type Operation = 'update' | 'delete';

/** Root of every error raised by knex-concurrency. */
export class KnexConcurrencyError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    Object.defineProperty(this, 'name', { value: new.target.name, enumerable: false, configurable: true, writable: true });
  }
}

function hide(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: false, configurable: true, writable: false });
}

/**
 * Someone else changed the row since this instance was loaded: the
 * compare-and-swap matched no row.
 *
 * @example
 * ```ts
 * try {
 *   await product.save();
 * } catch (err) {
 *   if (!(err instanceof RecordModifiedError)) throw err;
 *   await product.refresh(); // reload, re-apply the change, save again
 * }
 * ```
 */
export class RecordModifiedError extends KnexConcurrencyError {
  /** The instance whose write was refused (non-enumerable). */
  declare readonly target: object;
  /** Model class name. */
  readonly model: string;
  /** Primary key of the row. */
  readonly pk: unknown;
  readonly operation: Operation;
  /** The version the instance held when it tried to write (`null` for a model without a version field). */
  readonly expectedVersion: number | null;
  /** The version the database holds now; `null` when the row is gone. */
  readonly actualVersion: number | null;

  constructor(details: {
    target: object;
    model: string;
    pk: unknown;
    operation: Operation;
    expectedVersion: number | null;
    actualVersion: number | null;
    message?: string;
  }) {
    super(details.message ?? RecordModifiedError.describe(details));
    hide(this, 'target', details.target);
    this.model = details.model;
    this.pk = details.pk;
    this.operation = details.operation;
    this.expectedVersion = details.expectedVersion;
    this.actualVersion = details.actualVersion;
  }

  private static describe(d: { model: string; pk: unknown; operation: Operation; expectedVersion: number | null; actualVersion: number | null }): string {
    const verb = d.operation === 'delete' ? 'delete' : 'save';
    return (
      `${d.model} ${String(d.pk)} was changed by someone else ` +
      `(you held version ${d.expectedVersion}, the database has ${d.actualVersion}); ` +
      `nothing was written: refresh() and re-apply your change, then ${verb} again.`
    );
  }
}

/**
 * The row was deleted by someone else. A subclass of `RecordModifiedError`
 * (so one `catch` handles both) with `actualVersion: null`. The row is never
 * re-inserted.
 */
export class RecordDeletedError extends RecordModifiedError {
  declare readonly actualVersion: null;

  constructor(details: { target: object; model: string; pk: unknown; operation: Operation; expectedVersion: number | null }) {
    const held = details.expectedVersion === null ? '' : ` (you held version ${details.expectedVersion})`;
    super({
      ...details,
      actualVersion: null,
      message:
        `${details.model} ${String(details.pk)} was deleted by someone else${held}; ` +
        `nothing was written and the row was not re-created. Create a new record if it should exist again.`,
    });
  }
}

/**
 * A `TriggerVersionField` write found no working version trigger: the
 * version did not move. Nothing was written (the write was rolled back, or
 * never ran). Create the trigger and retry.
 *
 * @example
 * ```ts
 * try {
 *   await product.save();
 * } catch (err) {
 *   if (!(err instanceof MissingTriggerError)) throw err;
 *   await createVersionTrigger(db.knex, err.table, err.column); // or bin/migrate triggers create
 * }
 * ```
 */
export class MissingTriggerError extends KnexConcurrencyError {
  /** Model class name. */
  readonly model: string;
  readonly table: string;
  /** The version column the trigger maintains. */
  readonly column: string;
  /** The name the trigger has when `createVersionTrigger` creates it. */
  readonly trigger: string;
  /** Primary key of the row, `undefined` for a bulk `query().update()`. */
  readonly pk: unknown;

  constructor(details: { model: string; table: string; column: string; trigger: string; pk?: unknown }) {
    const what = details.pk === undefined ? `${details.model}.query().update() was refused` : `${details.model} ${String(details.pk)} was not saved`;
    super(
      `${what}: the version trigger "${details.trigger}" on table ${details.table} is missing or disabled, ` +
        `so ${details.table}.${details.column} would not rise and the write would go unprotected. Nothing was written. ` +
        `Create it with createVersionTrigger(knex, '${details.table}', '${details.column}') in a migration, ` +
        `or run: bin/migrate triggers create --table ${details.table} --column ${details.column}`,
    );
    this.model = details.model;
    this.table = details.table;
    this.column = details.column;
    this.trigger = details.trigger;
    this.pk = details.pk;
  }
}

/** `Model.get(pk)` or `refresh()` found no row. */
export class DoesNotExist extends KnexConcurrencyError {
  readonly model: string;
  readonly pk: unknown;

  constructor(model: string, pk: unknown) {
    super(`${model} ${String(pk)} does not exist.`);
    this.model = model;
    this.pk = pk;
  }
}

/** A value, attribute name or query argument was refused before any SQL ran. */
export class ValidationError extends KnexConcurrencyError {
  readonly model: string;
  /** Property name of the offending field (or the unknown name). */
  readonly field: string;
  declare readonly value: unknown;

  constructor(model: string, field: string, problem: string, value?: unknown) {
    super(`${model}.${field}: ${problem}`);
    this.model = model;
    this.field = field;
    hide(this, 'value', value);
  }
}

/** A model class is declared in a way that cannot work; the message says how to fix it. */
export class ModelDefinitionError extends KnexConcurrencyError {
  readonly model: string;

  constructor(model: string, problem: string) {
    super(`${model}: ${problem}`);
    this.model = model;
  }
}

/** The library was called in a way that cannot work (unbound model, deleting an unsaved instance, bad connect target...). */
export class UsageError extends KnexConcurrencyError {}
