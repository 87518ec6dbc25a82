import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { BusError, type Envelope, ErrorCodes, type HandlerContext } from '@openagentio/nestjs';
import { Extensions, MetaKeys, parseExtensions } from '@openagentio/nestjs/internal/protocol/extensions.js';
import { mcpSdk } from './mcp-sdk.js';
import { McpMetaKeys } from './mcp-meta-keys.js';

/** The tool arguments of a payload: an object as is, null/undefined as `{}`, anything else INVALID_REQUEST. */
export function argumentsOf(payload: unknown, target: string): Record<string, unknown> {
  if (payload === null || payload === undefined) return {};
  if (typeof payload === 'object' && !Array.isArray(payload)) return payload as Record<string, unknown>;
  const kind = Array.isArray(payload) ? 'an array' : `a ${typeof payload}`;
  throw new BusError(ErrorCodes.INVALID_REQUEST, `"${target}" takes a JSON object of tool arguments, not ${kind}`, {
    cause: { fields: ['(arguments)'] },
  });
}

/** Session and trace context of the bus call, as `tools/call` `_meta`. */
export function metaFor(hctx: HandlerContext): Record<string, unknown> {
  const meta: Record<string, unknown> = {};
  const s = hctx.session;
  const t = hctx.trace;
  if (s.session_id) meta[McpMetaKeys.SESSION_ID] = s.session_id;
  if (s.conversation_id) meta[McpMetaKeys.CONVERSATION_ID] = s.conversation_id;
  if (s.tenant_id) meta[McpMetaKeys.TENANT_ID] = s.tenant_id;
  if (s.user_id) meta[McpMetaKeys.USER_ID] = s.user_id;
  if (s.channel) meta[McpMetaKeys.CHANNEL] = s.channel;
  if (hctx.envelope.from) meta[McpMetaKeys.CALLER] = hctx.envelope.from;
  meta[McpMetaKeys.REQUEST_ID] = hctx.envelope.event_id;
  if (t.traceparent) meta[McpMetaKeys.TRACEPARENT] = t.traceparent;
  if (t.tracestate) meta[McpMetaKeys.TRACESTATE] = t.tracestate;
  if (t.baggage) meta[McpMetaKeys.BAGGAGE] = t.baggage;
  return meta;
}

/**
 * Whether the caller reads delta frames. A stream caller of this runtime sends a flow-control window; an invoke
 * caller advertises `flow` but sends no window and never grants credit, so deltas would only use up the
 * responder's default credit (see the report on responder.ts `initialCredit`). A peer without the `flow`
 * extension (upstream stream caller) gets deltas.
 */
export function wantsDeltas(env: Envelope): boolean {
  const ext = parseExtensions(env.metadata?.[MetaKeys.EXT]);
  if (!ext.has(Extensions.FLOW)) return true;
  return typeof env.metadata?.[MetaKeys.WINDOW] === 'number';
}

export function isAuthError(err: unknown): boolean {
  if (err instanceof mcpSdk().UnauthorizedError) return true;
  if (err instanceof mcpSdk().StreamableHTTPError) return err.code === 401 || err.code === 403;
  const e = err as { code?: unknown; message?: unknown };
  if (e && (e.code === 401 || e.code === 403) && !(err instanceof mcpSdk().types.McpError)) return true;
  return (
    typeof e?.message === 'string' && /\(HTTP 40[13]\)|Non-200 status code \(40[13]\)|\b40[13] Unauthorized|\b403 Forbidden/.test(e.message)
  );
}

export function isConnectionError(err: unknown): boolean {
  // A dropped session: the spec says 404; some servers (server-everything) answer 400 "No valid session ID".
  if (err instanceof mcpSdk().StreamableHTTPError) {
    return err.code === 404 || (err.code === 400 && /session/i.test(err.message)) || (err.code ?? 0) >= 500 || err.code === -1;
  }
  const e = err as { message?: unknown; cause?: { code?: unknown } };
  const msg = typeof e?.message === 'string' ? e.message : '';
  const code = e?.cause?.code;
  return (
    msg === 'Not connected' ||
    /fetch failed|ECONNREFUSED|ECONNRESET|socket hang up|EPIPE|other side closed|Session not found|\(HTTP (404|5\d\d)\)/i.test(msg) ||
    code === 'ECONNREFUSED' ||
    code === 'ECONNRESET' ||
    code === 'UND_ERR_SOCKET'
  );
}

export async function closeQuietly(client: Client): Promise<void> {
  try {
    await client.close();
  } catch {
    // already closed
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
