import type { Field } from './fields/field';

type Values = Record<string, unknown>;

/** A field of a model, by property name. */
export interface ConvertedField {
  readonly name: string;
  readonly field: Field;
}

/**
 * Builds, once per model, the function that converts a driver row (selected
 * with property-name aliases) into instance values, in place.
 *
 * A loop over the fields would read and write `row[f.name]` with a
 * different name at every step, and call `fromDb` on a different field
 * class each time; V8 then falls back to its slow generic paths for every
 * row. A function written out per model has one fixed property name and one
 * field at each site, which V8 compiles to direct loads, stores and calls:
 *
 * ```js
 * row["price"] = f0.fromDb(row["price"]);
 * ```
 *
 * Only names and field objects go in: names are JSON-quoted into the
 * source, fields are passed as arguments.
 */
export function compileHydrator(converted: readonly ConvertedField[]): (row: Values) => Values {
  if (converted.length === 0) return (row) => row;
  const params = converted.map((_, i) => `f${i}`);
  const lines = converted.map((c, i) => {
    const key = JSON.stringify(c.name);
    return `  row[${key}] = f${i}.fromDb(row[${key}]);`;
  });
  const source = `return function hydrate(row) {\n${lines.join('\n')}\n  return row;\n};`;
  const factory = new Function(...params, source) as (...fields: Field[]) => (row: Values) => Values;
  return factory(...converted.map((c) => c.field));
}

/**
 * Builds, once per model, the function that turns a row read as an array
 * (values in the order of `fields`, see `DialectAdapter.arrayRowsOption`)
 * into instance values: one object literal, so every instance of the model
 * shares one object shape, and only the fields that need it are converted.
 *
 * ```js
 * return { "id": f0.fromDb(row[0]), "name": row[1] };
 * ```
 */
export function compileArrayHydrator(fields: readonly ConvertedField[], converted: ReadonlySet<ConvertedField>): (row: readonly unknown[]) => Values {
  const params: string[] = [];
  const args: Field[] = [];
  const props = fields.map((f, i) => {
    const key = JSON.stringify(f.name);
    if (!converted.has(f)) return `    ${key}: row[${i}],`;
    params.push(`f${args.length}`);
    args.push(f.field);
    return `    ${key}: f${args.length - 1}.fromDb(row[${i}]),`;
  });
  const source = `return function hydrateArray(row) {\n  return {\n${props.join('\n')}\n  };\n};`;
  const factory = new Function(...params, source) as (...fields: Field[]) => (row: readonly unknown[]) => Values;
  return factory(...args);
}
