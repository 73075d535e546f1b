/** `bin/migrate --help`. */
export const HELP_TEXT = `Usage: knex-concurrency [command] [options]   (also installed as: migrate)

Applies Knex migrations (JavaScript or TypeScript) under a lock that
concurrent runs queue on and that a killed run cannot leave behind, then
checks that they left every version trigger in place.

Commands:
  latest            apply every pending migration as one batch (the default)
  status            list migrations, applied or pending, and any problem
  rollback          undo the last batch
  make <name>       write a new TypeScript migration, <timestamp>_<name>.ts
                    (a template; with --models, the tables, columns and
                    triggers the models need that the database lacks)
  check             with --models: does the database fit the models? exit 1
                    naming each missing or lossy table, column and trigger
  accept <file>...  accept the edited content of applied migration files
  unlock            clear what a killed run left (Knex's lock row, the
                    interrupted-migration warnings); never needed for the lock
  triggers <cmd>    list | create | drop | check the version triggers of
                    TriggerVersionFields (migrate triggers --help)
  columns check     exit 1 naming each field whose column would change its
                    values, e.g. a FloatField on t.float() (migrate columns --help)
  help              show this text

Options:
  --url <url>             database: sqlite:PATH, postgres://..., mysql://...
                          (default: $DATABASE_URL)
  --dir <path>            migrations folder (default: ./migrations)
  --models <module>       a .ts/.mts/.cts/.js/.mjs/.cjs module exporting the model
                          classes (make, check; latest checks after its run)
  --lock-timeout <secs>   how long to wait for another run (default: 600)
  -h, --help              show this text

Exit codes:
  0  done, nothing to do, or status found no problem
  1  a migration failed, the database could not be reached, or the
     migrations ran but removed version triggers (recreate them)
  2  bad command line, no database URL, or no migrations folder
  3  an applied migration file was edited or deleted (nothing ran), or
     status found a problem (also an interrupted migration)
  4  another run holds the migration lock (nothing ran)
`;
