import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';

/** One span as OTLP/JSON carries it (ids are hex strings). */
export interface OtlpJsonSpan {
  name: string;
  kind: number;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
  status?: { code?: number; message?: string };
}

/**
 * A tiny OTLP/HTTP receiver on a free loopback port: it accepts JSON posts on /v1/traces (and /v1/metrics),
 * keeps the decoded bodies, and answers 200 with an empty partial-success object.
 */
export class OtlpReceiver {
  readonly bodies: Array<{ path: string; contentType: string; body: unknown }> = [];
  private constructor(private readonly server: Server) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    const receiver = new OtlpReceiver(server);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        let raw = Buffer.concat(chunks);
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
        const contentType = String(req.headers['content-type'] ?? '');
        let body: unknown = raw;
        if (contentType.includes('json')) body = JSON.parse(raw.toString('utf8'));
        receiver.bodies.push({ path: req.url ?? '', contentType, body });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  get url(): string {
    const addr = this.server.address() as { port: number };
    return `http://127.0.0.1:${addr.port}`;
  }

  /** Every span received on /v1/traces (JSON bodies). */
  spans(): OtlpJsonSpan[] {
    const out: OtlpJsonSpan[] = [];
    for (const b of this.bodies) {
      if (!b.path.startsWith('/v1/traces') || !b.contentType.includes('json')) continue;
      const body = b.body as { resourceSpans?: Array<{ scopeSpans?: Array<{ spans?: OtlpJsonSpan[] }> }> };
      for (const rs of body.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) out.push(...(ss.spans ?? []));
    }
    return out;
  }

  /** service.name of the resource of the first trace export. */
  serviceName(): string | undefined {
    for (const b of this.bodies) {
      if (!b.path.startsWith('/v1/traces') || !b.contentType.includes('json')) continue;
      const body = b.body as {
        resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: { stringValue?: string } }> } }>;
      };
      const attr = body.resourceSpans?.[0]?.resource?.attributes?.find((a) => a.key === 'service.name');
      if (attr) return attr.value.stringValue;
    }
    return undefined;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export function attr(span: OtlpJsonSpan, key: string): unknown {
  const v = span.attributes?.find((a) => a.key === key)?.value;
  return v ? Object.values(v)[0] : undefined;
}
