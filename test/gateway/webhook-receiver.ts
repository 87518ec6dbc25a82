import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One POST a receiver got. */
export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
}

/**
 * A real HTTP webhook receiver on a free 127.0.0.1 port. `answer(path, n)` picks the status of the n-th request to
 * a path (default 200); `next(path)` resolves with the next request to that path.
 */
export class WebhookReceiver {
  readonly got: Received[] = [];
  /** The answer to the n-th request to a path: a status, a redirect, or `hang` (no answer until the receiver closes). */
  answer: (path: string, n: number, req: Received) => number | { status: number; location: string } | 'hang' = () => 200;
  private readonly waiters: Array<{ path: string; resolve: (r: Received) => void }> = [];
  private readonly counts = new Map<string, number>();
  private server?: Server;
  url = '';

  static async start(): Promise<WebhookReceiver> {
    const r = new WebhookReceiver();
    r.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(body);
        } catch {
          json = undefined;
        }
        const path = req.url ?? '/';
        const got: Received = { path, headers: req.headers, body, json };
        const n = (r.counts.get(path) ?? 0) + 1;
        r.counts.set(path, n);
        r.got.push(got);
        const a = r.answer(path, n, got);
        if (a === 'hang') res.on('error', () => undefined);
        else if (typeof a === 'number') res.writeHead(a).end();
        else res.writeHead(a.status, { location: a.location }).end();
        const i = r.waiters.findIndex((w) => w.path === path);
        if (i >= 0) r.waiters.splice(i, 1)[0].resolve(got);
      });
    });
    await new Promise<void>((resolve) => r.server!.listen(0, '127.0.0.1', resolve));
    r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
    return r;
  }

  /** Requests to `path` so far. */
  to(path: string): Received[] {
    return this.got.filter((g) => g.path === path);
  }

  /** Resolves once `path` has had `count` requests in all. */
  async count(path: string, count: number, ms = 10_000): Promise<Received[]> {
    while (this.to(path).length < count) await this.next(path, ms);
    return this.to(path);
  }

  /** The next request to `path`. */
  next(path: string, ms = 10_000): Promise<Received> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no POST to ${path} within ${ms} ms`)), ms);
      this.waiters.push({
        path,
        resolve: (r) => {
          clearTimeout(t);
          resolve(r);
        },
      });
    });
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}
