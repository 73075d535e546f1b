import type { Knex } from 'knex';
import type { DialectName } from '../lib';

/* eslint-disable @typescript-eslint/no-require-imports */

interface PoolEvents {
  /** tarn's lists of the connections it has lent and holds free. */
  readonly used: readonly { resource: object }[];
  readonly free: readonly { resource: object }[];
  on(event: 'acquireSuccess', handler: (id: number, connection: object) => void): void;
  removeListener(event: 'acquireSuccess', handler: (id: number, connection: object) => void): void;
}

type Method = (...args: unknown[]) => unknown;

/**
 * Counts what really reaches the database, below Knex, so that a count of
 * Knex `query` events can be checked against it:
 * - PostgreSQL: ReadyForQuery messages, exactly one per round trip;
 * - MySQL: request packets (a query, a prepare, an execute), one round trip each;
 * - SQLite: statement executions by the driver (there is no network).
 */
export class RoundTripCounter {
  count = 0;
  readonly #pool: PoolEvents;
  readonly #dialect: DialectName;
  #seen = new WeakSet<object>();
  #active = false;
  readonly #restore: (() => void)[] = [];
  readonly #onAcquire = (_id: number, connection: object) => this.#instrument(connection);

  constructor(knex: Knex, dialect: DialectName) {
    this.#pool = (knex.client as { pool: PoolEvents }).pool;
    this.#dialect = dialect;
  }

  /** What is counted, for the report. */
  get unit(): string {
    return this.#dialect === 'sqlite' ? 'driver statement executions' : 'round trips';
  }

  start(): void {
    this.count = 0;
    this.#active = true;
    this.#pool.on('acquireSuccess', this.#onAcquire);
    // Lent before counting started (the library keeps a connection for its next statement until the event loop turns).
    for (const c of [...this.#pool.used, ...this.#pool.free]) this.#instrument(c.resource);
    if (this.#dialect === 'sqlite') {
      const sqlite3 = require('sqlite3') as { Statement: { prototype: Record<string, Method> }; Database: { prototype: Record<string, Method> } };
      // Database#run/all/get go through a Statement; exec does not.
      this.#wrap(sqlite3.Statement.prototype, ['run', 'all', 'get', 'each']);
      this.#wrap(sqlite3.Database.prototype, ['exec']);
    }
  }

  stop(): number {
    this.#active = false;
    this.#pool.removeListener('acquireSuccess', this.#onAcquire);
    for (const restore of this.#restore.splice(0)) restore();
    // Instruments are off: a later start() puts them on again.
    this.#seen = new WeakSet();
    return this.count;
  }

  #wrap(target: Record<string, Method>, names: readonly string[]): void {
    for (const name of names) {
      const original = target[name]!;
      const counter = this;
      target[name] = function (this: unknown, ...args: unknown[]) {
        if (counter.#active) counter.count++;
        return original.apply(this, args);
      };
      this.#restore.push(() => {
        target[name] = original;
      });
    }
  }

  #instrument(connection: object): void {
    if (this.#dialect === 'sqlite' || this.#seen.has(connection)) return;
    this.#seen.add(connection);
    // Each instrument comes off in stop(): a counter per trial would otherwise
    // leave one more listener (one more wrapper) on the connection every time.
    if (this.#dialect === 'postgres') {
      const wire = (connection as { connection: { on(event: string, fn: () => void): void; removeListener(event: string, fn: () => void): void } }).connection;
      const counted = () => {
        if (this.#active) this.count++;
      };
      wire.on('readyForQuery', counted);
      this.#restore.push(() => wire.removeListener('readyForQuery', counted));
    } else {
      // Not addCommand: mysql2 queues a prepare before every execute and
      // answers it from its cache without writing anything.
      const conn = connection as { writePacket: Method };
      const original = conn.writePacket;
      const counted = (...args: unknown[]) => {
        if (this.#active) this.count++;
        return original.apply(conn, args);
      };
      conn.writePacket = counted;
      this.#restore.push(() => {
        if (conn.writePacket === counted) conn.writePacket = original;
      });
    }
  }
}
