import type { Knex } from 'knex';
import { expect } from 'chai';
import { RecordModifiedError, retryOnConflict } from '../lib';
import { forEachDialect } from './support/for-each-dialect';
import { forEachVersionKind, incrementStock } from './support/models';

forEachDialect('real concurrency on a pool of connections', (d) => {
  forEachVersionKind(d, 'concurrency', (suite) => {
    const { kind, table } = suite;

    it('8 copies of one row saved at the same moment: exactly one succeeds, seven conflict', async () => {
      const p = await suite.Product.create({ name: 'contended' });
      const copies = await Promise.all(Array.from({ length: 8 }, () => suite.Product.get(p.id)));
      copies.forEach((c, i) => {
        c.name = `writer ${i}`;
        c.stock = i;
      });
      // The race needs connections to race on: a fresh pool that opens them one
      // by one can serve eight quick UPDATEs on its first connection alone.
      await holdConnectionsAtOnce(d.knex, 8);
      const connections = new Set<unknown>();
      const listener = (q: { __knexUid?: unknown; sql: string }) => {
        if (/^update/i.test(q.sql)) connections.add(q.__knexUid);
      };
      d.knex.on('query', listener);
      const outcomes = await Promise.allSettled(copies.map((c) => c.save()));
      d.knex.off('query', listener);
      const won = outcomes.flatMap((o, i) => (o.status === 'fulfilled' ? [i] : []));
      const lost = outcomes.filter((o) => o.status === 'rejected').map((o) => (o as PromiseRejectedResult).reason);
      expect(won).to.have.length(1);
      expect(lost).to.have.length(7);
      for (const err of lost) expect(err).to.be.instanceOf(RecordModifiedError);
      expect(connections.size, 'updates ran on several connections').to.be.greaterThan(1);
      const row = await d.knex(table).where({ id: p.id }).first();
      expect(row.name).to.equal(`writer ${won[0]}`);
      expect(Number(row.version)).to.equal(copies[won[0]!]!.version);
      for (const [i, c] of copies.entries()) if (i !== won[0]) expect(c.version).to.equal(p.version);
    });

    it('8 workers x 10 read-modify-write increments with retryOnConflict end at exactly 80', async () => {
      const p = await suite.Product.create({ name: 'counter', stock: 0 });
      let conflicts = 0;
      const worker = async () => {
        for (let i = 0; i < 10; i++) await incrementStock(suite.Product, p.id, () => conflicts++);
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      const row = await d.knex(table).where({ id: p.id }).first();
      expect(row.stock).to.equal(80);
      expect(conflicts, 'the workers really contended').to.be.greaterThan(0);
    });
  });
});

/** Opens up to `n` connections of the pool (at most its size), all held at once, then returns them to it. */
async function holdConnectionsAtOnce(knex: Knex, n: number): Promise<void> {
  const client = knex.client as unknown as { pool: { max: number }; acquireConnection(): Promise<object>; releaseConnection(c: object): Promise<unknown> };
  const held = await Promise.all(Array.from({ length: Math.min(n, client.pool.max) }, () => client.acquireConnection()));
  await Promise.all(held.map((c) => client.releaseConnection(c)));
}
