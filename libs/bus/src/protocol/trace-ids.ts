import type { Envelope } from './envelope.js';

const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}/;
const ZERO_TRACE = '0'.repeat(32);
const ZERO_SPAN = '0'.repeat(16);

/**
 * Fills `trace_id` and `span_id` of an arriving envelope from its `traceparent` when it carries only that (upstream
 * runtimes send only `traceparent`), so the handler's context, its replies and the calls it makes carry one trace to
 * every runtime. Fields already set are kept; an invalid traceparent (W3C: all-zero ids are invalid) changes nothing.
 */
export function deriveTraceIds(env: Envelope): void {
  const tp = env.traceparent;
  if (!tp || (env.trace_id && env.span_id)) return;
  const m = TRACEPARENT.exec(tp);
  if (!m || m[1] === ZERO_TRACE || m[2] === ZERO_SPAN) return;
  if (!env.trace_id) env.trace_id = m[1];
  if (!env.span_id) env.span_id = m[2];
}
