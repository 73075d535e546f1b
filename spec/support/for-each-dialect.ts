import type { Knex } from 'knex';
import { connect, Database } from '../../lib';
import { availabilityOf, missing, REQUIRE_ALL, selectedDialects, skipped, TestDialectName } from './dialects';

/** One dialect's handle inside a spec: its connection, URL and name. */
export class DialectContext {
  #db: Database | undefined;
  #url: string | undefined;
  readonly #extra: Database[] = [];

  constructor(readonly name: TestDialectName) {}

  /** The shared connection for this dialect's specs (opened in a `before` hook). */
  get db(): Database {
    if (this.#db === undefined) throw new Error('DialectContext.db used outside a test or hook');
    return this.#db;
  }

  get knex(): Knex {
    return this.db.knex;
  }

  /** The URL of this dialect's test database. */
  get url(): string {
    if (this.#url === undefined) throw new Error('DialectContext.url used outside a test or hook');
    return this.#url;
  }

  /** A second, independent connection pool to the same database; closed after the suite. */
  connectAgain(): Database {
    const db = connect(this.url);
    this.#extra.push(db);
    return db;
  }

  /** Picks the expectation for this dialect: dialect differences are data. */
  pick<T>(byDialect: Record<TestDialectName, T>): T {
    return byDialect[this.name];
  }

  /** @internal */
  async open(url: string): Promise<void> {
    this.#url = url;
    this.#db = connect(url);
  }

  /** @internal */
  async close(): Promise<void> {
    await Promise.all(this.#extra.splice(0).map((db) => db.close()));
    await this.#db?.close();
    this.#db = undefined;
  }
}

/**
 * Declares `body` once per selected dialect, each in its own `describe`
 * block whose `before` hook connects (or skips loudly, or fails under
 * `REQUIRE_ALL_DIALECTS=1`).
 *
 * @example
 * ```ts
 * forEachDialect('save()', (d) => {
 *   it('writes', async () => { ... d.db ... });
 * });
 * ```
 */
export function forEachDialect(title: string, body: (d: DialectContext) => void): void {
  describe(title, function () {
    for (const name of selectedDialects()) {
      describe(`[${name}]`, function () {
        const d = new DialectContext(name);
        before(async function () {
          const a = await availabilityOf(name);
          if (a.url === undefined) {
            const why = `${name} is not available: ${a.error}`;
            if (REQUIRE_ALL) {
              missing.set(name, a.error ?? 'unknown');
              throw new Error(`${why} (REQUIRE_ALL_DIALECTS=1 makes a missing database a failure)`);
            }
            if (!skipped.has(name)) {
              skipped.set(name, a.error ?? 'unknown');
              console.warn(`\n  !!! SKIPPING ${name.toUpperCase()} SPECS: ${why}\n`);
            }
            this.skip();
          }
          await d.open(a.url!);
        });
        after(async function () {
          await d.close();
        });
        body(d);
      });
    }
  });
}
