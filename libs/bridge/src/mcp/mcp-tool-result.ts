import type { CallToolResult, Tool } from '@modelcontextprotocol/sdk/types.js';
import type { BusError } from '@openagentio/nestjs';
import { hideInternalSubjects } from '../http/internal-subjects.js';

/**
 * A bus result as an MCP tool result: a result that already is one (e.g. from an mcp_tool bridge) passes
 * through; a string is one text item; an object is JSON text plus `structuredContent`; anything else is JSON
 * text (and `structuredContent: {result}` when the tool declares an output schema).
 */
export function toCallToolResult(result: unknown, tool?: Tool): CallToolResult {
  if (isCallToolResult(result)) {
    const out: CallToolResult = { content: result.content };
    if (result.structuredContent !== undefined) out.structuredContent = result.structuredContent;
    if (result._meta !== undefined) out._meta = result._meta;
    if (result.isError) out.isError = true;
    return out;
  }
  if (result === undefined || result === null) {
    return tool?.outputSchema ? { content: [], structuredContent: {} } : { content: [] };
  }
  if (typeof result === 'string') {
    return tool?.outputSchema
      ? { content: [{ type: 'text', text: result }], structuredContent: { result } }
      : { content: [{ type: 'text', text: result }] };
  }
  const text = JSON.stringify(result);
  if (typeof result === 'object' && !Array.isArray(result)) {
    return { content: [{ type: 'text', text }], structuredContent: result as Record<string, unknown> };
  }
  return tool?.outputSchema ? { content: [{ type: 'text', text }], structuredContent: { result } } : { content: [{ type: 'text', text }] };
}

function isCallToolResult(v: unknown): v is CallToolResult {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return false;
  const c = (v as { content?: unknown }).content;
  return Array.isArray(c) && c.every((i) => i && typeof i === 'object' && typeof (i as { type?: unknown }).type === 'string');
}

/**
 * A bus error as an MCP tool error result (`isError`), with the ErrorPayload in `_meta["openagentio/error"]`.
 * Reply-inbox subjects (`_INBOX.…`, and a `cause.inbox`) are not shown to the MCP client: they are the bus's own.
 */
export function errorResult(err: BusError): CallToolResult {
  const payload = err.toPayload();
  const message = hideInternalSubjects(payload.message);
  const out: Record<string, unknown> = { ...payload, message };
  if (payload.cause) {
    const { inbox: _inbox, ...cause } = payload.cause as Record<string, unknown>;
    const json = JSON.stringify(cause);
    if (json === '{}') delete out.cause;
    // The pattern stops at a quote, so the JSON text stays JSON.
    else out.cause = json.includes('_INBOX') ? (JSON.parse(hideInternalSubjects(json)) as unknown) : cause;
  }
  return {
    isError: true,
    content: [{ type: 'text', text: `${err.code}: ${message}` }],
    _meta: { 'openagentio/error': out },
  };
}
