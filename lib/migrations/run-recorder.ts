import type { Knex } from 'knex';
import type { MigrationChecksums } from './checksums';
import type { InProgressMigrations } from './in-progress-migrations';
import type { MigrationEvent } from './migration-events';
import type { MigrationFile } from './typescript-migration-source';

/**
 * Knex lifecycle hooks for one run. Each write goes through the runner Knex
 * hands the hook, which is the migration's own transaction when it has one,
 * so the in-progress marker and the checksum commit or roll back with it.
 */
export class RunRecorder {
  /** The migrations whose function returned, with their durations. */
  readonly finished: { readonly name: string; readonly ms: number }[] = [];
  /** The migration running now; still set after it threw. */
  running: MigrationFile | undefined;
  readonly direction: 'up' | 'down';
  readonly #checksums: MigrationChecksums;
  readonly #inProgress: InProgressMigrations;
  readonly #emit: (event: MigrationEvent) => void;
  #started = 0;

  constructor(direction: 'up' | 'down', checksums: MigrationChecksums, inProgress: InProgressMigrations, emit: (event: MigrationEvent) => void) {
    this.direction = direction;
    this.#checksums = checksums;
    this.#inProgress = inProgress;
    this.#emit = emit;
  }

  hooks(): Pick<Knex.MigratorConfigWithLifecycleHooks, 'beforeEach' | 'afterEach'> {
    return {
      beforeEach: async (runner, [migration]) => {
        const file = migration as MigrationFile;
        this.running = file;
        this.#started = performance.now();
        this.#emit({ type: 'start', name: file.name, direction: this.direction });
        await this.#inProgress.mark(runner, file.name, this.direction);
      },
      afterEach: async (runner, [migration]) => {
        const file = migration as MigrationFile;
        if (this.direction === 'up') await this.#checksums.record(runner, file.name, file.checksum);
        else await this.#checksums.forget(runner, [file.name]);
        const ms = performance.now() - this.#started;
        this.running = undefined;
        this.finished.push(Object.freeze({ name: file.name, ms }));
        this.#emit({ type: 'done', name: file.name, direction: this.direction, ms });
      },
    };
  }
}
