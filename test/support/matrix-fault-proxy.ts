import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** How the proxy answers `/sync`: passed through, or one kind of broken answer. */
export type SyncFault = 'pass' | 'html' | 'truncated' | 'http-502' | 'timeout' | 'huge';

/**
 * A misbehaving reverse proxy in front of a homeserver: every request is passed through, except `/sync` while a
 * fault is set, which is answered by the proxy instead:
 *
 * - `html`       200 text/html (a captive portal, a proxy's error page)
 * - `truncated`  200 application/json cut off in the middle
 * - `http-502`   502 with an HTML page
 * - `timeout`    held for `holdMs`, then 504 (a proxy's own read timeout)
 * - `huge`       200 application/json, a well-formed sync of `hugeEvents` events (about 1.1 KB each), streamed
 *
 * `faults[kind]` counts the answers of each kind (the test waits for one before it goes on).
 */
export class MatrixFaultProxy {
  url = '';
  fault: SyncFault = 'pass';
  /** Answer every request with the fault, not only `/sync` (a homeserver away from the very start). */
  faultAll = false;
  holdMs = 1_000;
  hugeEvents = 100_000;
  readonly faults: Record<SyncFault, number> = { pass: 0, html: 0, truncated: 0, 'http-502': 0, timeout: 0, huge: 0 };
  /** Bytes of `huge` answers written (the client stops reading at its bound). */
  hugeBytesSent = 0;
  private server?: Server;
  private readonly target: URL;

  constructor(target: string) {
    this.target = new URL(target);
  }

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const isSync = (req.url ?? '').split('?')[0].endsWith('/sync');
    const fault = isSync || this.faultAll ? this.fault : 'pass';
    if (fault !== 'pass') {
      req.resume();
      this.faults[fault]++;
      return void this.answerFault(fault, res);
    }
    const upstream = request(
      { host: this.target.hostname, port: this.target.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }

  private async answerFault(fault: SyncFault, res: ServerResponse): Promise<void> {
    const html = '<html><body><h1>Please log in to the network</h1></body></html>';
    switch (fault) {
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end(html);
      case 'truncated':
        res.writeHead(200, { 'content-type': 'application/json' });
        return void res.end('{"next_batch":"s99_1","rooms":{"join":{"!x:localhost":{"timeline":{"events":[{"type":"m.ro');
      case 'http-502':
        res.writeHead(502, { 'content-type': 'text/html' });
        return void res.end(`<html><body>502 Bad Gateway ${'.'.repeat(100_000)}</body></html>`);
      case 'timeout':
        await new Promise((r) => setTimeout(r, this.holdMs));
        if (res.destroyed) return;
        res.writeHead(504, { 'content-type': 'text/html' });
        return void res.end('<html><body>504 Gateway Time-out</body></html>');
      case 'huge':
        return this.huge(res);
      default:
        res.destroy();
    }
  }

  /** A sync of `hugeEvents` room messages, written as the client reads it. */
  private async huge(res: ServerResponse): Promise<void> {
    res.writeHead(200, { 'content-type': 'application/json' });
    const write = async (s: string) => {
      this.hugeBytesSent += s.length;
      if (res.write(s)) return;
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    };
    await write('{"next_batch":"s_huge","rooms":{"join":{"!huge:localhost":{"timeline":{"limited":false,"events":[');
    const body = 'x'.repeat(900);
    let batch = '';
    for (let i = 0; i < this.hugeEvents && !res.destroyed; i++) {
      batch += `${i ? ',' : ''}{"type":"m.room.message","event_id":"$h${i}","sender":"@flood:localhost","origin_server_ts":${Date.now()},"content":{"msgtype":"m.text","body":"${body}"}}`;
      if (batch.length > 60_000) {
        await write(batch);
        batch = '';
      }
    }
    if (!res.destroyed) res.end(`${batch}]}}}}}`);
  }
}
