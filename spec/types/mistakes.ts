// Type tests: compiled by `npm test`'s build (tsc), never run. Each line
// under `@ts-expect-error` is a mistake the types must refuse (so the build
// fails if one is accepted); spec/types.spec.ts also compiles this file with
// the directives removed and checks that each of those lines, and only
// those, is an error. The lines without the directive must stay accepted.
import {
  AutoField, BooleanField, CharField, connect, DateTimeField, IntegerField, IntegerVersionField, JsonField, Model,
  RecordDeletedError, RecordModifiedError, TextField,
} from 'knex-concurrency';

class Article extends Model {
  static table = 'articles';
  static fields = {
    id: new AutoField(),
    title: new CharField({ maxLength: 200 }),
    body: new TextField({ default: '' }),
    published: new BooleanField({ default: false }),
    views: new IntegerField(),
    note: new TextField({ null: true }),
    placedAt: new DateTimeField({ null: true }),
    tags: new JsonField<string[]>({ default: () => [] }),
    version: new IntegerVersionField(),
  };
  declare id: number;
  declare title: string;
  declare body: string;
  declare published: boolean;
  declare views: number;
  declare note: string | null;
  declare placedAt: Date | null;
  declare tags: string[];
  declare version: number;
}

export async function queries(): Promise<void> {
  await Article.query().where('title', 'x').where('published', true).where('views', '>', 3).where({ title: 'x', note: null });
  await Article.query().where('placedAt', '<', new Date()).where('placedAt', '2024-01-01T00:00:00Z').where('title', 'like', '%x%');
  await Article.query().whereIn('id', [1, 2]).whereNotIn('title', ['a']).whereNull('note').whereNotNull('placedAt').orderBy('title', 'desc');
  await Article.query().where('id', 1).update({ views: 2, note: null });
  // @ts-expect-error a misspelt attribute
  Article.query().where('titel', 'x');
  // @ts-expect-error a value of the wrong type
  Article.query().where('published', 'yes');
  // @ts-expect-error a value of the wrong type, with an operator
  Article.query().where('views', '>', 'three');
  // @ts-expect-error an operator that does not exist
  Article.query().where('views', 'is not', 3);
  // @ts-expect-error a misspelt attribute in the object form
  Article.query().where({ titel: 'x' });
  // @ts-expect-error a list of the wrong type
  Article.query().whereIn('id', ['1']);
  // @ts-expect-error a misspelt attribute
  Article.query().whereIn('ids', [1]);
  // @ts-expect-error ordering by a name that is not an attribute
  Article.query().orderBy('nope');
  // @ts-expect-error a direction that does not exist
  Article.query().orderBy('title', 'up');
  // @ts-expect-error an update of a misspelt attribute
  await Article.query().update({ titel: 'x' });
}

export async function writes(a: Article): Promise<void> {
  await a.save({ fields: ['title', 'views'] });
  // @ts-expect-error save() of a name that is not an attribute
  await a.save({ fields: ['nope'] });
  await Article.create({ title: 'x', views: 0 });
  await Article.create({ title: 'x', views: 0, note: 'n', body: 'b', tags: ['t'] });
  // @ts-expect-error create() without a required field (views: non-null, no default)
  await Article.create({ title: 'x' });
  // @ts-expect-error create() without its attributes, when some are required
  await Article.create();
  // @ts-expect-error create() of a value of the wrong type
  await Article.create({ title: 'x', views: '0' });
  // @ts-expect-error create() of a name that is not an attribute
  await Article.create({ title: 'x', views: 0, nope: 1 });
}

export function conflicts(err: unknown): string | undefined {
  if (err instanceof RecordModifiedError && err.isFor(Article)) {
    const title: string = err.target.title;
    return title;
  }
  if (err instanceof RecordDeletedError) {
    // @ts-expect-error the target is a Model until narrowed with isFor()
    return err.target.title;
  }
  const typed = err as RecordModifiedError<Article>;
  // @ts-expect-error target is typed as the model: no such attribute
  return typed.target.titel;
}

export async function isolation(): Promise<void> {
  const db = connect('sqlite::memory:', { isolation: 'serializable' });
  await db.transaction(async () => undefined, { isolation: 'read committed' });
  // @ts-expect-error an isolation level that is not offered
  connect('sqlite::memory:', { isolation: 'snapshot' });
  // @ts-expect-error an isolation level that is not offered
  await db.transaction(async () => undefined, { isolation: 'read uncommitted' });
}
