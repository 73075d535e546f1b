import { createRequire } from 'node:module';
import * as path from 'node:path';
import * as vm from 'node:vm';
import type { Knex } from 'knex';
import type * as TypeScript from 'typescript';
import { loadTypeScript } from './load-typescript';
import { MigrationLoadError } from './migration-errors';

// The package's own name, as migrations import it.
const SELF = 'knex-concurrency';

/** Loaded on first use: it is large, and a run with nothing to load need not pay for it. */
function ts(): typeof TypeScript {
  return loadTypeScript('a migration written in TypeScript (or with import/export)');
}

/**
 * Migrations import `knex-concurrency` for `addVersionColumn`. Inside a
 * project that has the package installed (or inside the package itself, by
 * self-reference) Node resolves it; a migrations folder elsewhere gets the
 * copy that is running.
 */
function requireFor(file: string): NodeJS.Require {
  const base = createRequire(file);
  const req = ((id: string): unknown => {
    if (id === SELF) {
      try {
        base.resolve(id);
      } catch {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        return require('../index');
      }
    }
    return base(id);
  }) as NodeJS.Require;
  return Object.assign(req, { resolve: base.resolve, cache: base.cache, main: base.main, extensions: base.extensions });
}

/**
 * Evaluates a migration file as a CommonJS module and returns its exports.
 *
 * TypeScript (and JavaScript written with `import`/`export`) is transpiled
 * with `typescript.transpileModule`: syntax only, no type checking, no
 * tsconfig needed. The module gets its own `require`, rooted at the file, so
 * nothing global (no require hook) changes for the rest of the process.
 * `.cjs` files are evaluated as they are.
 */
export function loadMigrationModule(name: string, file: string, source: string): Knex.Migration {
  let code = source;
  if (path.extname(file) !== '.cjs') {
    const out = ts().transpileModule(source, {
      fileName: file,
      reportDiagnostics: true,
      compilerOptions: {
        module: ts().ModuleKind.CommonJS,
        target: ts().ScriptTarget.ES2022,
        esModuleInterop: true,
        inlineSourceMap: true,
      },
    });
    const syntax = out.diagnostics?.find((d) => d.category === ts().DiagnosticCategory.Error);
    if (syntax) {
      const where = syntax.file && syntax.start !== undefined ? syntax.file.getLineAndCharacterOfPosition(syntax.start) : undefined;
      const at = where ? ` (line ${where.line + 1}, column ${where.character + 1})` : '';
      throw new MigrationLoadError(name, `${ts().flattenDiagnosticMessageText(syntax.messageText, '\n')}${at}`);
    }
    code = out.outputText;
  }
  const module = { exports: {} as Record<string, unknown> };
  try {
    const evaluate = vm.compileFunction(code, ['exports', 'require', 'module', '__filename', '__dirname'], { filename: file });
    evaluate.call(module.exports, module.exports, requireFor(file), module, file, path.dirname(file));
  } catch (err) {
    throw new MigrationLoadError(name, err instanceof Error ? err.message : String(err), { cause: err });
  }
  const exported = module.exports as Partial<Knex.Migration>;
  if (typeof exported.up !== 'function' || typeof exported.down !== 'function') {
    throw new MigrationLoadError(name, 'a migration must export two functions, `export async function up(knex)` and `export async function down(knex)`');
  }
  return exported as Knex.Migration;
}
