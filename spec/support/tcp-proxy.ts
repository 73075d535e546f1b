import * as net from 'node:net';

/**
 * A TCP proxy in front of a server, which a spec can make disappear: `kill()`
 * stops listening and cuts every connection, as a crashed server would, while
 * the server behind it keeps running for the other specs.
 */
export class TcpProxy {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();

  private constructor(server: net.Server) {
    this.#server = server;
  }

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = net.createServer();
    const proxy = new TcpProxy(server);
    server.on('connection', (client) => {
      const upstream = net.connect(targetPort, targetHost);
      for (const s of [client, upstream]) {
        proxy.#sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => proxy.#sockets.delete(s));
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Stops listening (new connections are refused) and cuts the open ones. */
  async kill(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}
