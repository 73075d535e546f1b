import type { Database } from './database';
import { UsageError } from './errors';

// Which database each model class was bound to; subclasses inherit their parent's binding.
const bindings = new WeakMap<Function, Database>();

/** Binds `cls` (and its subclasses that are not bound themselves) to `db`. */
export function bindDatabase(cls: Function, db: Database): void {
  bindings.set(cls, db);
}

/** The database `cls` or its nearest bound ancestor was bound to. */
export function databaseOf(cls: Function): Database {
  for (let c: Function | null = cls; c !== null && c !== Function.prototype; c = Object.getPrototypeOf(c) as Function | null) {
    const db = bindings.get(c);
    if (db !== undefined) return db;
  }
  throw new UsageError(`${cls.name} is not bound to a database: call ${cls.name}.bind(connect(url)) first`);
}
