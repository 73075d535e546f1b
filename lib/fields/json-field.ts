import { unstorableString } from './char-field';
import { Field, FieldProblem } from './field';

/** Finds the first part of a value that JSON would silently change or drop. */
function jsonProblem(value: unknown, path: string): string | undefined {
  switch (typeof value) {
    case 'string': {
      const problem = unstorableString(value);
      return problem === undefined ? undefined : `${path} ${problem}`;
    }
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${String(value)}, which JSON cannot represent`;
    case 'object': {
      if (value === null) return undefined;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          const p = jsonProblem(value[i], `${path}[${i}]`);
          if (p) return p;
        }
        return undefined;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        return `${path} is a ${proto?.constructor?.name ?? 'class instance'}; only plain objects, arrays, strings, finite numbers, booleans and null are stored as JSON`;
      }
      for (const [k, v] of Object.entries(value)) {
        const keyProblem = unstorableString(k);
        if (keyProblem) return `the key ${JSON.stringify(k)} of ${path} ${keyProblem}`;
        const p = jsonProblem(v, `${path}.${k}`);
        if (p) return p;
      }
      return undefined;
    }
    default:
      return `${path} is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, which JSON cannot store`;
  }
}

/**
 * A JSON document. Values must be JSON-safe (plain objects, arrays, strings,
 * finite numbers, booleans, null): anything `JSON.stringify` would silently
 * drop or change is refused. In-place changes (`doc.tags.push(x)`) are
 * detected, and checked, on save.
 *
 * @example
 * ```ts
 * static fields = { id: new AutoField(), lines: new JsonField<{ sku: string; qty: number }[]>({ default: () => [] }) };
 * ```
 */
export class JsonField<T = unknown> extends Field<T> {
  readonly typeName: string = 'JSON';

  protected check(value: unknown): T | FieldProblem {
    const problem = jsonProblem(value, 'value');
    return problem ? new FieldProblem(problem) : (value as T);
  }

  override get mutable(): boolean {
    return true;
  }

  override fromDb(raw: unknown): T | null {
    if (raw === null || raw === undefined) return null;
    // json/jsonb on PostgreSQL and JSON on MySQL arrive parsed; text columns
    // (SQLite, MariaDB's JSON alias for LONGTEXT) arrive as the JSON text.
    if (typeof raw === 'string') {
      try {
        return JSON.parse(raw) as T;
      } catch {
        return raw as T;
      }
    }
    if (Buffer.isBuffer(raw)) return JSON.parse(raw.toString('utf8')) as T;
    return raw as T;
  }

  override toDb(value: T | null): unknown {
    return value === null ? null : JSON.stringify(value);
  }

  override snapshot(value: T | null): unknown {
    return value === null ? null : JSON.stringify(value);
  }

  override fromSnapshot(snapshot: unknown): T | null {
    return snapshot === null ? null : (JSON.parse(snapshot as string) as T);
  }
}
