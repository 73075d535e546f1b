import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import type { Knex } from 'knex';
import { UsageError } from '../errors';
import { checksumOf } from './checksums';
import { loadMigrationModule } from './load-migration-module';

/** File name endings that are migrations; declaration files are not. */
export const MIGRATION_EXTENSIONS: readonly string[] = Object.freeze(['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs']);
const DECLARATION = /\.d\.[cm]?ts$/;

/** One migration file, read once: what Knex records and what runs are the same bytes as what is checksummed. */
export interface MigrationFile {
  /** The file name, which Knex records in its history table. */
  readonly name: string;
  /** Absolute path. */
  readonly path: string;
  readonly checksum: string;
  readonly source: string;
}

/**
 * A Knex `MigrationSource` over one folder of JavaScript and TypeScript
 * migrations, in Knex's format (`export async function up(knex)`, `down`,
 * optionally `export const config = { transaction: false }`), sorted by file
 * name. TypeScript needs no set-up from the user: see `loadMigrationModule`.
 *
 * @example
 * ```ts
 * await knex.migrate.latest({ migrationSource: new TypeScriptMigrationSource('./migrations') });
 * ```
 */
export class TypeScriptMigrationSource implements Knex.MigrationSource<MigrationFile> {
  /** The folder, absolute. */
  readonly directory: string;
  readonly #loaded = new Map<string, Promise<Knex.Migration>>();

  constructor(directory: string) {
    this.directory = path.resolve(directory);
  }

  /** The migration files, sorted by name (Knex's `loadExtensions` is ignored: the list above is the one). */
  async getMigrations(): Promise<MigrationFile[]> {
    let entries: string[];
    try {
      entries = await fs.readdir(this.directory);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') {
        throw new UsageError(`the migrations directory ${this.directory} does not exist; create it (\`migrate make <name>\` does) or pass --dir`);
      }
      throw err;
    }
    const names = entries
      .filter((n) => !n.startsWith('.') && MIGRATION_EXTENSIONS.includes(path.extname(n)) && !DECLARATION.test(n))
      .sort();
    return Promise.all(
      names.map(async (name) => {
        const file = path.join(this.directory, name);
        const source = await fs.readFile(file, 'utf8');
        return Object.freeze({ name, path: file, source, checksum: checksumOf(source) });
      }),
    );
  }

  getMigrationName(migration: MigrationFile): string {
    return migration.name;
  }

  /** The module's exports, evaluated once per file and source. */
  getMigration(migration: MigrationFile): Promise<Knex.Migration> {
    const key = `${migration.path}\0${migration.checksum}`;
    let loaded = this.#loaded.get(key);
    if (loaded === undefined) {
      loaded = Promise.resolve().then(() => loadMigrationModule(migration.name, migration.path, migration.source));
      this.#loaded.set(key, loaded);
    }
    return loaded;
  }
}
