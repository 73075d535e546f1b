import * as net from 'node:net';

/**
 * A TCP proxy in front of a server, which a spec can make disappear: `kill()`
 * stops listening and cuts every connection, as a crashed server would, while
 * the server behind it keeps running for the other specs.
 */
export class TcpProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #port = 0;

  private constructor(targetPort: number, targetHost: string) {
    this.#server = net.createServer((client) => {
      const upstream = net.connect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => this.#sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetPort, targetHost);
    await proxy.resume();
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  /** Stops listening (new connections are refused) and cuts the open ones. */
  async kill(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }

  /** Listens again, on the port it had (a free one the first time). */
  async resume(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#port = (this.#server.address() as net.AddressInfo).port;
  }
}
