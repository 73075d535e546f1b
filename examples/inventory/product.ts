import type { Knex } from 'knex';
import { addVersionColumn, AutoField, AutoIncVersionField, CharField, FloatField, IntegerField, Model, TextField, ValidationError } from 'knex-concurrency';

/** The example's one model: a product in stock. */
export class Product extends Model {
  static table = 'inventory_products';
  static fields = {
    id: new AutoField(),
    name: new CharField({ maxLength: 100 }),
    price: new FloatField(),
    stock: new IntegerField({ default: 0 }),
    notes: new TextField({ default: '' }),
    // What the supplier charges: shown to staff on the pages, never in a JSON conflict report.
    supplierCost: new FloatField({ null: true, column: 'supplier_cost', private: true }),
    // 1, 2, 3...: easy to read on the pages.
    version: new AutoIncVersionField(),
  };
  declare id: number;
  declare name: string;
  declare price: number;
  declare stock: number;
  declare notes: string;
  declare supplierCost: number | null;
  declare version: number;
}

/** A field the edit form shows, and how its text becomes a value. */
export interface FormField {
  readonly name: 'name' | 'price' | 'stock' | 'notes' | 'supplierCost';
  readonly label: string;
  readonly input: 'text' | 'number' | 'textarea';
  parse(text: string): unknown;
}

function number(field: string, integer: boolean): (text: string) => unknown {
  return (text) => {
    const t = text.trim();
    const n = t === '' ? NaN : Number(t);
    if (!Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new ValidationError('Product', field, `expected ${integer ? 'a whole number' : 'a number'}, got ${JSON.stringify(text.slice(0, 20))}`);
    return n;
  };
}

export const FORM_FIELDS: readonly FormField[] = [
  { name: 'name', label: 'Name', input: 'text', parse: (t) => t.trim() },
  { name: 'price', label: 'Price', input: 'number', parse: number('price', false) },
  { name: 'stock', label: 'Stock', input: 'number', parse: number('stock', true) },
  { name: 'notes', label: 'Notes', input: 'textarea', parse: (t) => t },
  { name: 'supplierCost', label: 'Supplier cost', input: 'number', parse: (t) => (t.trim() === '' ? null : number('supplierCost', false)(t)) },
];

/** Creates the table when it is missing, with a few products to play with. */
export async function ensureSchema(knex: Knex): Promise<void> {
  if (await knex.schema.hasTable(Product.table)) return;
  await knex.schema.createTable(Product.table, (t) => {
    t.increments('id').primary();
    t.string('name', 100).notNullable();
    t.double('price').notNullable();
    t.integer('stock').notNullable().defaultTo(0);
    t.text('notes').notNullable();
    t.double('supplier_cost').nullable();
    addVersionColumn(t);
  });
  for (const [name, price, stock, cost] of [
    ['Desk lamp', 39.9, 12, 21.5],
    ['Office chair', 189, 4, 120],
    ['Standing desk', 549, 2, 380],
    ['Monitor arm', 79.5, 9, 41],
  ] as const) {
    await Product.create({ name, price, stock, notes: '', supplierCost: cost });
  }
}
