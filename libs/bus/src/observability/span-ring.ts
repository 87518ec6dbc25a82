/**
 * A bounded ring of this process's recent finished spans, as an OpenTelemetry SpanProcessor (register it with the
 * tracer provider: `new NodeSDK({ spanProcessors: [ring, …] })`), and `SpanRing.install(ring)` so the process's
 * buses answer span questions over the bus (`DiscoveryClient.spans`, the console's conversations). No second
 * tracing system: the spans the bus makes anyway, kept a little while.
 *
 * Memory: at most `capacity` spans (default 2 000), each reduced to its ids, name, times, status and at most 16
 * attributes of at most 256 characters: about 1 KiB each at worst, 2 MiB for the default ring.
 */
export interface RecentSpan {
  trace_id: string;
  span_id: string;
  parent_span_id?: string;
  name: string;
  /** OpenTelemetry SpanKind: 0 internal, 1 server, 2 client, 3 producer, 4 consumer. */
  kind: number;
  /** Start, ms since the epoch. */
  start: number;
  duration_ms: number;
  /** `message` of an error status (or `error`), absent when the span did not fail. */
  error?: string;
  /** The process's `service.name`, when its resource has one. */
  service?: string;
  /** The discovery service (agent) whose bus answered with it: set by `DiscoveryClient.spans`. */
  agent?: string;
  attributes: Record<string, string | number | boolean>;
}

/** What to look for: every field narrows; newest first, at most `limit` (default 500, at most 1 000). */
export interface SpanQuery {
  trace_id?: string;
  session_id?: string;
  /** ms since the epoch: spans that ended at or after it. */
  since?: number;
  /** ms since the epoch: spans that started at or before it. */
  until?: number;
  limit?: number;
}

/** The part of an SDK ReadableSpan the ring reads (structural, so the bus needs no SDK package). */
interface EndedSpan {
  name: string;
  kind: number;
  spanContext(): { traceId: string; spanId: string };
  parentSpanContext?: { spanId: string };
  parentSpanId?: string;
  startTime: [number, number];
  duration: [number, number];
  status: { code: number; message?: string };
  attributes: Record<string, unknown>;
  resource?: { attributes: Record<string, unknown> };
}

const MAX_ATTRIBUTES = 16;
const MAX_TEXT = 256;
const STATUS_ERROR = 2;

let installed: SpanRing | undefined;

export class SpanRing {
  private readonly spans: Array<RecentSpan | undefined>;
  private next = 0;

  constructor(readonly capacity = 2_000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new Error(`SpanRing: capacity must be a positive integer (got ${capacity})`);
    this.spans = new Array<RecentSpan | undefined>(capacity);
  }

  /** The ring this process's buses answer from (the last one installed); undefined: they do not answer. */
  static install(ring: SpanRing | undefined): void {
    installed = ring;
  }

  static get current(): SpanRing | undefined {
    return installed;
  }

  onStart(): void {}

  onEnd(span: EndedSpan): void {
    const ctx = span.spanContext();
    const attributes: Record<string, string | number | boolean> = {};
    let n = 0;
    for (const [k, v] of Object.entries(span.attributes)) {
      if (n >= MAX_ATTRIBUTES) break;
      if (typeof v === 'string') attributes[k] = v.length > MAX_TEXT ? v.slice(0, MAX_TEXT) : v;
      else if (typeof v === 'number' || typeof v === 'boolean') attributes[k] = v;
      else continue;
      n++;
    }
    const parent = span.parentSpanContext?.spanId ?? span.parentSpanId;
    const service = span.resource?.attributes['service.name'];
    const failed = span.status.code === STATUS_ERROR;
    this.spans[this.next] = {
      trace_id: ctx.traceId,
      span_id: ctx.spanId,
      ...(parent ? { parent_span_id: parent } : {}),
      name: span.name.slice(0, MAX_TEXT),
      kind: span.kind,
      start: span.startTime[0] * 1e3 + span.startTime[1] / 1e6,
      duration_ms: span.duration[0] * 1e3 + span.duration[1] / 1e6,
      ...(failed ? { error: (span.status.message || 'error').slice(0, MAX_TEXT) } : {}),
      ...(typeof service === 'string' ? { service: service.slice(0, MAX_TEXT) } : {}),
      attributes,
    };
    this.next = (this.next + 1) % this.capacity;
  }

  async forceFlush(): Promise<void> {}

  async shutdown(): Promise<void> {
    if (installed === this) installed = undefined;
  }

  /** The spans kept that match, newest first. */
  query(q: SpanQuery = {}): RecentSpan[] {
    const limit = Math.min(1_000, Math.max(1, q.limit ?? 500));
    const out: RecentSpan[] = [];
    for (let i = 1; i <= this.capacity && out.length < limit; i++) {
      const s = this.spans[(this.next - i + this.capacity) % this.capacity];
      if (!s) break;
      if (q.trace_id && s.trace_id !== q.trace_id) continue;
      if (q.session_id && s.attributes['acp.session_id'] !== q.session_id) continue;
      if (q.since !== undefined && s.start + s.duration_ms < q.since) continue;
      if (q.until !== undefined && s.start > q.until) continue;
      out.push(s);
    }
    return out;
  }
}

/** A span question as it comes over the wire (anyone may send one): only well-typed fields are kept. */
export function spanQueryOf(body: unknown): SpanQuery {
  const b = body && typeof body === 'object' ? (body as Record<string, unknown>) : {};
  const str = (v: unknown) => (typeof v === 'string' && v.length > 0 && v.length <= 256 ? v : undefined);
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const q: SpanQuery = {};
  const trace = str(b.trace_id);
  const session = str(b.session_id);
  if (trace) q.trace_id = trace;
  if (session) q.session_id = session;
  if (num(b.since) !== undefined) q.since = num(b.since);
  if (num(b.until) !== undefined) q.until = num(b.until);
  if (num(b.limit) !== undefined) q.limit = num(b.limit);
  return q;
}

export const SPANS_RESPONSE_TYPE = 'io.openagentio.spans_response';

export interface SpansResponse {
  type: typeof SPANS_RESPONSE_TYPE;
  name: string;
  id: string;
  spans: RecentSpan[];
}
