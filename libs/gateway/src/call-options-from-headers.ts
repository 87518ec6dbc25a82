import { randomBytes } from 'node:crypto';
import type { CallOptions } from '@openagentio/nestjs';
import type { GatewayRequest } from './gateway-auth.js';
import type { GatewayIdentity } from './gateway.options.js';

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACE_ID = /^[0-9a-f]{32}$/;

/**
 * The bus call options of a gateway request: session fields from `X-Session-Id`, `X-Conversation-Id`,
 * `X-Channel` (or, on GET, which EventSource cannot give headers, the same as query parameters), trace context
 * from `traceparent`/`X-Traceparent` (or a new span under `X-Trace-Id`), `tracestate` and `baggage`. An
 * authenticated identity sets tenant and user; without one `X-Tenant-Id` and `X-User-Id` do.
 */
export function callOptionsFromRequest(req: GatewayRequest, id: GatewayIdentity | null): CallOptions {
  const h = (name: string): string | undefined => {
    const v = req.headers[name];
    const s = Array.isArray(v) ? v[0] : v;
    return typeof s === 'string' && s.trim() ? s.trim() : undefined;
  };
  // GET requests (EventSource cannot send headers) may carry session fields as query parameters.
  const q = (name: string): string | undefined => {
    if (req.method !== 'GET') return undefined;
    const v = req.query?.[name];
    return typeof v === 'string' && v.trim() ? v.trim() : undefined;
  };
  const opts: CallOptions = {
    session_id: h('x-session-id') ?? q('session_id'),
    conversation_id: h('x-conversation-id') ?? q('conversation_id'),
    channel: h('x-channel') ?? q('channel'),
    tenant_id: id ? id.tenant_id : h('x-tenant-id'),
    user_id: id ? id.user_id : h('x-user-id'),
  };
  const tp = (h('x-traceparent') ?? h('traceparent'))?.toLowerCase();
  if (tp && TRACEPARENT.test(tp)) opts.traceparent = tp;
  else {
    const tid = h('x-trace-id')?.toLowerCase();
    if (tid && TRACE_ID.test(tid)) opts.traceparent = `00-${tid}-${randomHex(16)}-01`;
  }
  const ts = h('tracestate');
  if (ts) opts.tracestate = ts;
  const bg = h('baggage');
  if (bg) opts.baggage = bg;
  for (const k of Object.keys(opts) as Array<keyof CallOptions>) if (opts[k] === undefined) delete opts[k];
  return opts;
}

/** `n` random hex digits, not all zero (an all-zero span id is invalid in W3C trace context). */
function randomHex(n: number): string {
  const s = randomBytes(Math.ceil(n / 2))
    .toString('hex')
    .slice(0, n);
  return /^0+$/.test(s) ? '1'.padStart(n, '0') : s;
}
