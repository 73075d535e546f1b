import { expect } from 'chai';
import { CharField, IntegerVersionField, Model, RecordModifiedError, UsageError, ValidationError } from '../lib';
import { InvalidVersionTokenError, signVersion, verifyVersion } from '../lib/http';
import { rejection } from './support/expect-error';
import { forEachDialect } from './support/for-each-dialect';
import { createProductTable, productModel, VERSION_KINDS } from './support/models';
import { recreateTable } from './support/schema';

const KEY = 'first-secret-of-at-least-16-bytes';
const OLD = 'an-older-secret-still-accepted';

forEachDialect('signed version tokens for forms (signVersion / verifyVersion)', (d) => {
  const kind = VERSION_KINDS[0]!;
  let Product: ReturnType<typeof productModel>;
  let Order: ReturnType<typeof productModel>;

  before(async () => {
    await createProductTable(d.knex, 'token_products', kind);
    await createProductTable(d.knex, 'token_orders', kind);
    Product = productModel(d.db, 'token_products', kind);
    // Another model with the same shape: its tokens must not pass for Product.
    Order = class Order extends productModel(d.db, 'token_orders', kind) {};
  });

  it('a token round-trips the key and the version, and the version then guards the save', async () => {
    const p = await Product.create({ name: 'lamp' });
    const token = signVersion(p, KEY);
    expect(token).to.match(/^Product\.[A-Za-z0-9_-]+\.\d+\.[A-Za-z0-9_-]{43}$/);
    expect(verifyVersion(token, KEY, Product)).to.deep.equal({ pk: p.id, version: p.version });
    // Someone saves after the form was rendered: the form's save must conflict.
    const other = await Product.get(p.id);
    other.name = 'theirs';
    await other.save();
    const { pk, version } = verifyVersion(token, KEY, Product);
    const mine = await Product.get(pk);
    mine.version = version;
    mine.name = 'mine';
    await rejection(mine.save(), RecordModifiedError);
    const row = await d.knex('token_products').where({ id: p.id }).first();
    expect(row.name).to.equal('theirs');
  });

  it('key rotation: the first secret signs, every listed secret verifies, a dropped one does not', async () => {
    const p = await Product.create({ name: 'lamp' });
    const old = signVersion(p, OLD);
    expect(verifyVersion(old, [KEY, OLD], Product).version).to.equal(p.version);
    const fresh = signVersion(p, [KEY, OLD]);
    expect(fresh).to.equal(signVersion(p, KEY));
    expect(verifyVersion(fresh, [KEY], Product).pk).to.equal(p.id);
    const err = await rejection(() => verifyVersion(old, [KEY], Product), InvalidVersionTokenError);
    expect(err.message).to.match(/bad signature/);
  });

  it('a tampered version, key or signature, a foreign model, a missing or malformed token: InvalidVersionTokenError (a ValidationError), and nothing logged', async () => {
    const p = await Product.create({ name: 'lamp' });
    const token = signVersion(p, KEY);
    const [model, pk64, version, sig] = token.split('.') as [string, string, string, string];
    const other = await Order.create({ name: 'order' });
    const bad: [unknown, RegExp][] = [
      [`${model}.${pk64}.${Number(version) + 1}.${sig}`, /bad signature/],
      [`${model}.${Buffer.from(JSON.stringify(p.id + 1)).toString('base64url')}.${version}.${sig}`, /bad signature/],
      [`${model}.${pk64}.${version}.${sig.slice(0, -2)}AA`, /bad signature/],
      [`${model}.${pk64}.${version}.`, /bad signature/],
      [signVersion(other, KEY), /made for Order, not Product/],
      [`Order.${pk64}.${version}.${sig}`, /made for Order, not Product/],
      [undefined, /missing/],
      ['', /missing/],
      [['a', 'b'], /must be a string/],
      [42, /must be a string/],
      ['garbage', /malformed/],
      [`${model}.${pk64}.-1.${sig}`, /malformed/],
      ['x'.repeat(5000), /malformed/],
    ];
    const logged: unknown[] = [];
    const saved = { warn: console.warn, error: console.error, log: console.log };
    console.warn = console.error = console.log = (...args: unknown[]) => void logged.push(args);
    try {
      for (const [t, message] of bad) {
        let caught: unknown;
        for (let i = 0; i < 200; i++) {
          try {
            verifyVersion(t, KEY, Product);
          } catch (e) {
            caught = e;
          }
        }
        expect(caught, String(t)).to.be.instanceOf(InvalidVersionTokenError);
        expect(caught).to.be.instanceOf(ValidationError);
        expect((caught as InvalidVersionTokenError).status).to.equal(400);
        expect((caught as Error).message, String(t)).to.match(message);
      }
    } finally {
      Object.assign(console, saved);
    }
    expect(logged).to.deep.equal([]);
  });

  it('refuses a short secret, no secret, and an unsaved instance', async () => {
    const p = await Product.create({ name: 'lamp' });
    await rejection(() => signVersion(p, 'short'), UsageError);
    await rejection(() => signVersion(p, []), UsageError);
    await rejection(() => verifyVersion('a.b.1.c', 'short', Product), UsageError);
    await rejection(() => signVersion(new Product(), KEY), UsageError);
  });

  it('a string primary key keeps its type through the token', async () => {
    class Sku extends Model {
      static table = 'token_skus';
      static fields = { code: new CharField({ maxLength: 20, primaryKey: true }), name: new CharField({ maxLength: 20 }), version: new IntegerVersionField() };
      declare code: string;
      declare name: string;
      declare version: number;
    }
    Sku.bind(d.db);
    await recreateTable(d.knex, 'token_skus', (t) => {
      t.string('code', 20).primary();
      t.string('name', 20).notNullable();
      t.bigInteger('version').notNullable();
    });
    const s = await Sku.create({ code: '12.5 "x"', name: 'n' });
    expect(verifyVersion(signVersion(s, KEY), KEY, Sku)).to.deep.equal({ pk: '12.5 "x"', version: s.version });

  });
});
