import { ErrorCodes, type DiscoveryClient, type RecentSpan, type SpanQuery } from '@openagentio/nestjs';
import { GatewayHttpError } from '../gateway-errors.js';

/** One conversation (a trace) as the list shows it. */
export interface ConversationSummary {
  trace_id: string;
  session_id?: string;
  start: number;
  duration_ms: number;
  spans: number;
  agents: string[];
  errors: number;
  /** The trace in the OTLP backend's UI, when `traceUrl` is set. */
  trace_url?: string;
}

const TRACE_ID = /^[0-9a-f]{32}$/;
/** Spans asked of each process per search: bounds the answers (each under NATS's 1 MiB payload). */
const SEARCH_LIMIT = 500;

/**
 * The conversations view: the spans every process keeps in its SpanRing, gathered over the bus on request
 * (`DiscoveryClient.spans`), grouped by trace.
 */
export class ConsoleConversations {
  constructor(
    private readonly discovery: DiscoveryClient,
    private readonly traceUrl?: string,
  ) {}

  /** Search by session id, trace id or the last `minutes` (default 15): the newest 50 conversations. */
  async search(query: Record<string, unknown>): Promise<ConversationSummary[]> {
    const q: SpanQuery = { limit: SEARCH_LIMIT };
    const session = typeof query.session_id === 'string' ? query.session_id.trim() : '';
    const trace = typeof query.trace_id === 'string' ? query.trace_id.trim().toLowerCase() : '';
    if (session) q.session_id = session.slice(0, 256);
    if (trace) q.trace_id = this.traceId(trace);
    const minutes = Number(query.minutes ?? 15);
    if (!Number.isFinite(minutes) || minutes <= 0)
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, 'minutes must be a positive number', 400);
    q.since = Date.now() - minutes * 60_000;
    const byTrace = new Map<string, RecentSpan[]>();
    for (const s of await this.discovery.spans(q)) {
      let list = byTrace.get(s.trace_id);
      if (!list) byTrace.set(s.trace_id, (list = []));
      list.push(s);
    }
    const out = [...byTrace.entries()].map(([id, spans]) => this.summary(id, spans));
    return out.sort((a, b) => b.start - a.start).slice(0, 50);
  }

  /** Every span of one trace the processes still hold, oldest first. */
  async trace(traceId: string): Promise<{ summary: ConversationSummary; spans: RecentSpan[] }> {
    const id = this.traceId(traceId);
    const spans = await this.discovery.spans({ trace_id: id, limit: SEARCH_LIMIT });
    if (spans.length === 0) throw new GatewayHttpError(ErrorCodes.NO_HANDLER, 'no process holds spans of that trace (any more)', 404);
    return { summary: this.summary(id, spans), spans };
  }

  private traceId(v: string): string {
    const id = v.trim().toLowerCase();
    if (!TRACE_ID.test(id)) throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, 'a trace id is 32 hexadecimal digits', 400);
    return id;
  }

  private summary(traceId: string, spans: RecentSpan[]): ConversationSummary {
    let start = Infinity;
    let end = 0;
    let errors = 0;
    let session: string | undefined;
    const agents = new Set<string>();
    for (const s of spans) {
      start = Math.min(start, s.start);
      end = Math.max(end, s.start + s.duration_ms);
      if (s.error) errors++;
      if (s.agent) agents.add(s.agent);
      const sid = s.attributes['acp.session_id'];
      if (!session && typeof sid === 'string') session = sid;
    }
    return {
      trace_id: traceId,
      ...(session ? { session_id: session } : {}),
      start,
      duration_ms: end - start,
      spans: spans.length,
      agents: [...agents].sort(),
      errors,
      ...(this.traceUrl ? { trace_url: this.traceUrl.replace('{traceId}', traceId) } : {}),
    };
  }
}
