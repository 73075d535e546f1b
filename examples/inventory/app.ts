import express, { type NextFunction, type Request, type Response } from 'express';
import {
  DoesNotExist,
  guardSelection,
  InvalidVersionTokenError,
  problemHandler,
  RecordDeletedError,
  RecordModifiedError,
  requireIfMatch,
  restore,
  sendWithETag,
  signVersion,
  StaleSelectionError,
  UsageError,
  ValidationError,
  verifyVersion,
} from './deps';
import { FORM_FIELDS, Product } from './product';
import { conflictPage, editPage, escape, gonePage, listPage, page } from './views';

export interface AppOptions {
  /** Secrets for the forms' version tokens: the first signs, all verify (rotate by prepending a new one). */
  readonly secrets: readonly string[];
}

type Body = Record<string, unknown>;

function text(body: Body, name: string): string {
  const v = body[name];
  if (typeof v !== 'string') throw new ValidationError('Product', name, 'is missing from the form');
  return v;
}

function json(body: Body, name: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text(body, name)) as unknown;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) return v as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw new InvalidVersionTokenError('Product', name, 'is not the JSON the form was rendered with; reload the form');
}

function keyOf(req: Request): number {
  const id = Number(req.params['id']);
  if (!Number.isSafeInteger(id) || id < 1) throw new DoesNotExist('Product', req.params['id']);
  return id;
}

/**
 * The example inventory app: server-rendered pages (a list with a guarded
 * bulk action, an edit form with a signed version, a conflict page to merge
 * on) and a JSON API with ETag / If-Match.
 */
export function createApp(options: AppOptions): express.Express {
  const secrets = options.secrets;
  const app = express();
  app.disable('x-powered-by');
  app.use(express.urlencoded({ extended: false }));
  app.use(express.json());

  // ---- pages ---------------------------------------------------------------

  app.get('/', async (req, res) => {
    const notice = typeof req.query['notice'] === 'string' ? req.query['notice'] : undefined;
    res.type('html').send(listPage(await Product.query().orderBy('id').all(), { notice }));
  });

  app.post('/bulk', async (req, res) => {
    try {
      const n = await guardSelection(Product, req.body.selection ?? [], async (products) => {
        for (const p of products) {
          p.stock += 10;
          await p.save();
        }
        return products.length;
      });
      res.redirect(303, `/?notice=${encodeURIComponent(`Restocked ${n} product${n === 1 ? '' : 's'}.`)}`);
    } catch (err) {
      if (!(err instanceof StaleSelectionError) && !(err instanceof ValidationError)) throw err;
      const products = await Product.query().orderBy('id').all();
      res.status(err instanceof StaleSelectionError ? 409 : 422).type('html').send(listPage(products, { error: err.message, stale: err instanceof StaleSelectionError ? err.stale : [] }));
    }
  });

  app.get('/products/:id/edit', async (req, res) => {
    const p = await Product.get(keyOf(req));
    res.type('html').send(editPage(p, signVersion(p, secrets)));
  });

  // The form posts the version it was rendered with (signed) and what it showed.
  app.post('/products/:id', async (req, res) => {
    const id = keyOf(req);
    const { pk, version } = verifyVersion(req.body._version, secrets, Product);
    if (pk !== id) throw new InvalidVersionTokenError('Product', '_version', `was made for product ${String(pk)}, not ${id}`);
    const p = restore(Product, { ...json(req.body, '_original'), id, version });
    try {
      for (const f of FORM_FIELDS) (p as unknown as Body)[f.name] = f.parse(text(req.body, f.name));
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      return res.status(422).type('html').send(editPage(p, req.body._version, { error: err.message, values: req.body }));
    }
    await saveOrResolve(res, p, 'Saved');
  });

  app.post('/products/:id/resolve', async (req, res) => {
    const id = keyOf(req);
    const { pk, version } = verifyVersion(req.body._version, secrets, Product);
    if (pk !== id) throw new InvalidVersionTokenError('Product', '_version', `was made for product ${String(pk)}, not ${id}`);
    // The row as the conflict page showed it ("theirs"), at its version: the
    // resolution's save checks that nobody saved again since.
    const base = restore(Product, { ...json(req.body, '_original'), id, version });
    const mine = json(req.body, '_mine');
    const strategy = req.body.strategy;
    if (strategy === 'theirs') return res.redirect(303, `/?notice=${encodeURIComponent(`Kept the saved version of ${base.name}; your changes were dropped.`)}`);
    const mineFields = new Set(text(req.body, '_mineFields').split(',').filter(Boolean));
    for (const f of FORM_FIELDS) {
      const keepMine = strategy === 'mine' ? mineFields.has(f.name) : req.body[`choice.${f.name}`] === 'mine';
      if (keepMine) (base as unknown as Body)[f.name] = mine[f.name];
    }
    await saveOrResolve(res, base, 'Merged and saved');
  });

  /**
   * Saves; a conflict whose changes do not overlap is merged and saved at
   * once, one that does goes to the conflict page.
   */
  async function saveOrResolve(res: Response, p: Product, done: string): Promise<void> {
    try {
      await p.save();
      res.redirect(303, `/?notice=${encodeURIComponent(`${done}: ${p.name} (version ${p.version}).`)}`);
    } catch (err) {
      if (err instanceof RecordDeletedError) return void res.status(410).type('html').send(gonePage(p.name));
      if (!(err instanceof RecordModifiedError)) throw err;
      if (err.conflictingFields.length === 0) {
        const merged = err.mergeIfDisjoint<Product>();
        return saveOrResolve(res, merged, 'Merged with the changes saved meanwhile');
      }
      const theirs = err.resolve<Product>('theirs');
      res.status(409).type('html').send(conflictPage(err, signVersion(theirs, secrets)));
    }
  }

  // ---- JSON API ------------------------------------------------------------

  app.get('/api/products/:id', async (req, res) => {
    sendWithETag(req, res, await Product.get(keyOf(req)));
  });

  /** PUT: If-Match required; a stale tag is 412, a write that loses a race is 409. */
  app.put('/api/products/:id', async (req, res) => {
    const p = await Product.get(keyOf(req));
    requireIfMatch(req, p);
    applyJson(p, req.body);
    await p.save();
    sendWithETag(req, res, p);
  });

  /**
   * PATCH for clients that can merge: the body carries the representation
   * the client based its change on (`base`, the one its If-Match names) and
   * the `changes`. A conflict on other fields is merged; on the same fields
   * it is 409 with the conflict report.
   */
  app.patch('/api/products/:id', async (req, res) => {
    const id = keyOf(req);
    const body = req.body as { base?: unknown; changes?: unknown };
    if (body.base === null || typeof body.base !== 'object') throw new ValidationError('Product', 'base', 'send the representation your change is based on as "base"');
    const p = restore(Product, { ...(body.base as Body), id });
    requireIfMatch(req, p);
    applyJson(p, body.changes);
    try {
      await p.save();
      sendWithETag(req, res, p);
    } catch (err) {
      if (!(err instanceof RecordModifiedError) || err instanceof RecordDeletedError || err.conflictingFields.length > 0) throw err;
      const merged = err.mergeIfDisjoint<Product>();
      await merged.save();
      sendWithETag(req, res, merged);
    }
  });

  app.use('/api', problemHandler());

  // ---- errors on pages -----------------------------------------------------

  app.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = err instanceof DoesNotExist ? 404 : err instanceof InvalidVersionTokenError ? 400 : err instanceof ValidationError ? 422 : undefined;
    if (status === undefined) return next(err);
    res.status(status).type('html').send(page('Error', `<h1>${status}</h1><p class="error" id="error">${escape((err as Error).message)}</p><p><a href="/">Back to the list</a></p>`));
  });
  return app;
}

function applyJson(p: Product, changes: unknown): void {
  if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) throw new ValidationError('Product', 'body', 'send a JSON object of the fields to change');
  for (const [name, value] of Object.entries(changes)) {
    if (name === 'id' || name === 'version') throw new ValidationError('Product', name, 'is set by the server, not by a client');
    if (!FORM_FIELDS.some((f) => f.name === name)) throw new ValidationError('Product', name, 'is not a field of Product');
    (p as unknown as Body)[name] = value;
  }
}

export { UsageError };
