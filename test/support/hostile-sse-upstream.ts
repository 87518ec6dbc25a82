import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A chat-completions upstream that misbehaves on purpose, chosen by the request's `model`:
 *
 * - `no-blank:<MB>`    200 text/event-stream, `data:` lines of 64 KiB and never the blank line that ends an event
 * - `long-line:<MB>`   200 text/event-stream, one line that never ends
 * - `http-500:<MB>`    500 with a body of that size
 * - `json:<MB>`        200 application/json, one completion whose content is that size
 * - `secret-chunk`     a `data:` line that is not JSON and holds `api_key=sk-live-…`
 * - `secret-mid:<MB>`  a mid-stream error whose message holds the key and is that size
 * - `secret-400:<MB>`  400 with a JSON error message holding the key, that size
 * - `newlines:<MB>`   that many line ends (blank lines), then the normal stream
 * - `ok`               a normal three-chunk stream
 *
 * Bodies are written from one reused buffer as the client reads them (backpressure), so the peer itself holds no
 * memory, and `sent` records how many bytes each request got before it ended: proof that the client stopped early.
 */
export class HostileSseUpstream {
  static readonly SECRET = 'sk-live-0123456789abcdefSECRET';
  /** A normal answer: "Hello, upstream". */
  static readonly OK =
    ['Hello', ', ', 'upstream']
      .map((t) => `data: ${JSON.stringify({ id: 'c1', model: 'ok', choices: [{ index: 0, delta: { content: t } }] })}\n\n`)
      .join('') +
    `data: ${JSON.stringify({ id: 'c1', model: 'ok', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\ndata: [DONE]\n\n`;
  url = '';
  readonly sent: Array<{ model: string; bytes: number }> = [];
  private server?: Server;

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
    return this;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let raw = '';
    for await (const c of req) raw += c;
    const model = String((JSON.parse(raw) as { model?: unknown }).model ?? '');
    const [kind, arg] = model.split(':');
    const mb = Number(arg ?? 0) * 1024 * 1024;
    const record = { model, bytes: 0 };
    this.sent.push(record);
    const sse = { 'content-type': 'text/event-stream' };
    const secret = `api_key=${HostileSseUpstream.SECRET}`;
    switch (kind) {
      case 'no-blank':
        res.writeHead(200, sse);
        return this.pump(res, record, mb, Buffer.from(`data: ${'x'.repeat(65_536 - 7)}\n`));
      case 'long-line':
        res.writeHead(200, sse);
        res.write('data: ');
        return this.pump(res, record, mb, Buffer.alloc(65_536, 'y'));
      case 'http-500':
        res.writeHead(500, { 'content-type': 'text/plain' });
        return this.pump(res, record, mb, Buffer.alloc(65_536, 'e'));
      case 'json': {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"id":"c1","model":"json","choices":[{"index":0,"finish_reason":"stop","message":{"role":"assistant","content":"');
        await this.pump(res, record, mb, Buffer.alloc(65_536, 'j'), false);
        return this.end(res, record, '"}}]}');
      }
      case 'secret-chunk':
        res.writeHead(200, sse);
        return this.end(res, record, `data: {"id":"c1","choices":[{"index":0,"delta":{"content":"a"}}]}\n\ndata: not json ${secret}\n\n`);
      case 'secret-mid':
        res.writeHead(200, sse);
        res.write(`data: {"id":"c1","choices":[{"index":0,"delta":{"content":"a"}}]}\n\n`);
        return this.end(res, record, `data: {"error":{"message":"${secret} ${'m'.repeat(mb)}","type":"server_error"}}\n\n`);
      case 'secret-400':
        res.writeHead(400, { 'content-type': 'application/json' });
        return this.end(res, record, `{"error":{"message":"bad request, ${secret} ${'m'.repeat(mb)}","type":"invalid_request_error"}}`);
      case 'newlines':
        res.writeHead(200, sse);
        await this.pump(res, record, mb, Buffer.alloc(65_536, '\n'), false);
        return this.end(res, record, HostileSseUpstream.OK);
      default:
        res.writeHead(200, sse);
        return this.end(res, record, HostileSseUpstream.OK);
    }
  }

  /** Writes `piece` until `total` bytes went out or the client went away; ends the response when `end`. */
  private async pump(res: ServerResponse, record: { bytes: number }, total: number, piece: Buffer, end = true): Promise<void> {
    while (record.bytes < total && !res.destroyed) {
      record.bytes += piece.length;
      if (!res.write(piece)) {
        await new Promise<void>((resolve) => {
          const done = () => {
            res.off('drain', done);
            res.off('close', done);
            resolve();
          };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    if (end && !res.destroyed) res.end();
  }

  private end(res: ServerResponse, record: { bytes: number }, text: string): void {
    record.bytes += Buffer.byteLength(text);
    res.end(text);
  }
}
