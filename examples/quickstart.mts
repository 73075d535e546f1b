import {
  connect, Model, AutoField, CharField, TextField, IntegerVersionField, RecordModifiedError,
} from 'knex-concurrency';

const db = connect(process.env.DATABASE_URL ?? 'sqlite:./demo.db');

class Product extends Model {
  static table = 'products';
  static fields = {
    id: new AutoField(),
    name: new CharField({ maxLength: 100 }),
    description: new TextField({ default: '' }),
    version: new IntegerVersionField(),
  };
  declare id: number;
  declare name: string;
  declare description: string;
  declare version: number;
}
Product.bind(db);

const p = await Product.create({ name: 'Original Product' });
const a = await Product.get(p.id);      // user A loads
const b = await Product.get(p.id);      // user B loads the same version
a.name = 'Product updated by User A';
await a.save();                          // wins
b.name = 'Product updated by User B';
try {
  await b.save();
} catch (err) {
  if (!(err instanceof RecordModifiedError)) throw err;
  console.log(err.message, err.expectedVersion, err.actualVersion); // B must reload and re-apply
}

await db.close();
