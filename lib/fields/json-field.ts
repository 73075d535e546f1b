import type { DialectAdapter } from '../dialects/dialect-adapter';
import { unstorableString } from './char-field';
import { Field, FieldOptions, FieldProblem } from './field';
import { NONE, type QueryOperators } from './query-operators';

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
// `O` defaults to the wide options type: `new JsonField<Line[]>({ default: ... })` names `T`, which leaves `O`
// uninferred, and a field that may have a default must not be required by `create()`'s type.
export class JsonField<T = unknown, O extends FieldOptions<T> = FieldOptions<T>> extends Field<T, O> {
  readonly typeName: string = 'JSON';

  override get operators(): QueryOperators {
    return NONE;
  }

  protected check(value: unknown): T | FieldProblem {
    const problem = jsonProblem(value, 'value');
    return problem ? new FieldProblem(problem) : (value as T);
  }

  override get mutable(): boolean {
    return true;
  }

  // Drivers parse json/jsonb (node-postgres) and JSON (mysql2, MariaDB's
  // too), and a parsed JSON string is a bare string: `"42"` would arrive as
  // `42` and be parsed again into a number. Read as text, every column type
  // (json, jsonb, text) arrives as the JSON text and is parsed exactly once.
  override selectExpression(quotedColumn: string, adapter: DialectAdapter): string {
    return adapter.jsonAsText(quotedColumn);
  }

  override fromDb(raw: unknown): T | null {
    if (raw === null || raw === undefined) return null;
    // The JSON text (see selectExpression). A text column written by other
    // SQL may hold text that is not JSON: it is read as that string.
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
