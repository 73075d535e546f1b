import type * as TypeScript from 'typescript';
import { UsageError } from '../errors';

let typescript: typeof TypeScript | undefined;

/**
 * The TypeScript compiler, loaded on first use: only reading a `.ts`
 * migration or models module needs it. It is an optional peer dependency
 * (the application's own copy, not a second one), so its absence is named
 * with the command that fixes it.
 */
export function loadTypeScript(purpose: string): typeof TypeScript {
  if (typescript !== undefined) return typescript;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    typescript = require('typescript') as typeof TypeScript;
  } catch (err) {
    if ((err as { code?: string }).code !== 'MODULE_NOT_FOUND') throw err;
    throw new UsageError(`${purpose} needs the typescript package, which is not installed: npm install --save-dev typescript (or write it in JavaScript)`, { cause: err });
  }
  return typescript;
}
