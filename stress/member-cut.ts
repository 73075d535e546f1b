import { TcpProxy } from '../spec/support/tcp-proxy';
import type { FaultTarget, StruckMember } from './fault-injector';

/**
 * One member of a cluster (a Galera node, the PostgreSQL primary) that a
 * stress run's faults cut off, for its clients only: they reach it through
 * a TCP proxy, and a fault drops every connection through it and refuses
 * new ones until `start()`. The server itself keeps running (the cluster
 * is shared with the specs and takes minutes to re-form after a crash), so
 * this is a node vanishing from its clients' view: what failover, typed
 * errors and unknown outcomes must survive. The parent process checks the
 * history on the real server, not through the proxy.
 */
export class MemberCut implements FaultTarget {
  readonly #proxy: TcpProxy;
  readonly #url: string;
  readonly #name: string;
  readonly refuseText: string;
  #cuts = 0;

  private constructor(proxy: TcpProxy, url: string, name: string) {
    this.#proxy = proxy;
    this.#url = url;
    this.#name = name;
    this.refuseText = `${name} cut off (its connections dropped, new ones refused)`;
  }

  /** The member behind the proxy; its clients know it by the proxy's port. A Galera node's clients leave it for good at the first cut. */
  get next(): StruckMember {
    return { name: this.#name, port: this.#proxy.port, clientsOn: this.#cuts === 0 || !this.#name.startsWith('Galera') };
  }

  static async create(url: string, name: string): Promise<MemberCut> {
    const u = new URL(url);
    const proxy = await TcpProxy.start(Number(u.port), u.hostname);
    return new MemberCut(proxy, url, name);
  }

  /** The member's URL through the proxy. */
  get url(): string {
    const u = new URL(this.#url);
    u.port = String(this.#proxy.port);
    return u.toString();
  }

  kill(): Promise<void> {
    this.#cuts++;
    return this.#proxy.kill();
  }

  stop(): Promise<void> {
    this.#cuts++;
    return this.#proxy.kill();
  }

  start(): Promise<void> {
    return this.#proxy.resume();
  }

  async destroy(): Promise<void> {
    await this.#proxy.kill().catch(() => undefined);
  }
}
