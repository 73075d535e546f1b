import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A server of the spec's own on a free loopback port; `close()` it after the suite. */
export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Starts `listen(port, host, cb)` (an Express app, a node:http server) on 127.0.0.1 and a free port. */
export function listenOnLoopback(app: { listen(port: number, host: string, cb: () => void): Server }): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = app.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
    server.once('error', reject);
  });
}

/** A JSON request: the status, headers and parsed body of the answer. */
export async function request(url: string, init: { method?: string; headers?: Record<string, string>; json?: unknown } = {}): Promise<{ status: number; headers: Headers; body: any }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.json !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method: init.method ?? 'GET', headers, body: init.json === undefined ? undefined : JSON.stringify(init.json) });
  const text = await res.text();
  let body: unknown = text;
  if (text !== '' && /json/.test(res.headers.get('content-type') ?? '')) body = JSON.parse(text);
  return { status: res.status, headers: res.headers, body };
}
