import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { BusError, ErrorCodes } from '@openagentio/nestjs';
import type { McpToolResult } from '../interfaces/mcp-tool-bridge.interface.js';
import { PermanentBridgeError } from '../interfaces/bridge.interface.js';
import { isAuthError, isConnectionError } from './mcp-call-helpers.js';
import { limitOf, nestingDepth } from './mcp-limit-error.js';
import { mcpSdk } from './mcp-sdk.js';
import type { OutputValidator } from './mcp-schema.js';
import type { McpToolListHost } from './mcp-tool-list.js';

/** What reading a tools/call answer or failure needs of its bridge. */
export type McpCallResultHost = Pick<McpToolListHost, 'name' | 'config' | 'stats' | 'redactor' | 'endpointLabel'>;

/**
 * An MCP `tools/call` answer as the bus result of an `mcp_tool` target: checked against the tool's output schema;
 * an `isError` answer becomes a BusError carrying the server's (redacted, cut) text.
 */
export function toolResultOf(host: McpCallResultHost, toolName: string, r: CallToolResult, output?: OutputValidator): McpToolResult {
  const content = Array.isArray(r.content) ? r.content : [];
  output?.check(r, `MCP tool "${toolName}"`);
  if (r.isError) {
    host.stats.failures++;
    const text = errorTextOf(content, host.config.max_error_chars);
    const message = host.redactor.redact(text || `tool "${toolName}" failed`);
    const invalid = /MCP error -32602|input validation error|invalid arguments/i.test(text);
    const cause: Record<string, unknown> = { tool: toolName, bridge: host.name, mcp_is_error: true };
    if (r.structuredContent !== undefined) {
      // Passed on only while small: it is the server's text too, and the caller has the message.
      const max = host.config.max_error_chars * 4;
      // Too deep to encode is too large to pass on (and would fail JSON.stringify with a RangeError).
      const size = nestingDepth(r.structuredContent, 64) > 64 ? Infinity : JSON.stringify(r.structuredContent).length;
      if (size <= max) cause.structuredContent = host.redactor.redactDeep(r.structuredContent);
      else cause.structuredContent_omitted = `larger than ${max} characters or nested deeper than 64`;
    }
    throw new BusError(invalid ? ErrorCodes.INVALID_REQUEST : ErrorCodes.AGENT_UNAVAILABLE, message, { retryable: false, cause });
  }
  const out: McpToolResult = { content };
  if (r.structuredContent !== undefined) out.structuredContent = r.structuredContent as Record<string, unknown>;
  if (r._meta !== undefined) out._meta = r._meta as Record<string, unknown>;
  const legacy = (r as { toolResult?: unknown }).toolResult;
  if (legacy !== undefined && content.length === 0) (out as unknown as Record<string, unknown>).toolResult = legacy;
  if (content.length === 1 && content[0].type === 'text') out.text = (content[0] as { text: string }).text;
  return out;
}

/**
 * A failed `tools/call` as a BusError, and the error to report to supervision when the failure means the
 * connection is lost (refused credentials, server unreachable). `live`: the call ran on the current connection and
 * the bridge is ready (a -32000 "connection closed" from a live connection is the server's own error).
 */
export function callErrorOf(
  host: McpCallResultHost,
  err: unknown,
  signal: AbortSignal,
  toolName: string,
  live: boolean,
): { error: BusError; lost?: Error } {
  host.stats.failures++;
  if (err instanceof BusError) return { error: err };
  if (signal.aborted) {
    const reason = signal.reason;
    if (reason instanceof BusError) return { error: reason };
    return {
      error: new BusError(ErrorCodes.AGENT_UNAVAILABLE, `call of "${toolName}" was cancelled`, {
        retryable: false,
        cause: { reason: 'cancelled' },
      }),
    };
  }
  const msg = host.redactor.redact((err as Error)?.message ?? String(err));
  const cause = { tool: toolName, bridge: host.name };
  const limit = limitOf(err);
  if (limit) {
    host.stats.oversizeAnswers++;
    return {
      error: new BusError(
        ErrorCodes.AGENT_UNAVAILABLE,
        `MCP tool "${toolName}": the server's answer exceeds ${limit.limit} (${limit.value}) and was not read`,
        { retryable: false, cause: { ...cause, limit: limit.limit, limit_value: limit.value } },
      ),
    };
  }
  if (isAuthError(err)) {
    const e = new BusError(ErrorCodes.AUTH_FAILURE, `MCP server refused the credentials: ${msg}`, { retryable: false, cause });
    return { error: e, lost: new PermanentBridgeError(`bridge "${host.name}": ${e.message}`) };
  }
  if (err instanceof mcpSdk().types.McpError) return { error: mcpErrorOf(err, toolName, msg, cause, live) };
  if (isConnectionError(err)) {
    return {
      error: new BusError(ErrorCodes.AGENT_UNAVAILABLE, `MCP server unreachable: ${msg}`, { retryable: true, cause }),
      lost: new Error(`MCP server ${host.endpointLabel()} unreachable: ${msg}`),
    };
  }
  return { error: new BusError(ErrorCodes.AGENT_UNAVAILABLE, msg, { retryable: false, cause }) };
}

function mcpErrorOf(err: { code: number }, toolName: string, msg: string, cause: Record<string, unknown>, live: boolean): BusError {
  switch (err.code) {
    case mcpSdk().types.ErrorCode.RequestTimeout:
      return new BusError(ErrorCodes.AGENT_TIMEOUT, `MCP tool "${toolName}" timed out: ${msg}`, { cause });
    case mcpSdk().types.ErrorCode.InvalidParams:
    case mcpSdk().types.ErrorCode.InvalidRequest:
      return new BusError(ErrorCodes.INVALID_REQUEST, msg, { cause: { ...cause, mcp_code: err.code } });
    case mcpSdk().types.ErrorCode.MethodNotFound:
      return new BusError(ErrorCodes.NO_HANDLER, msg, { cause: { ...cause, mcp_code: err.code } });
    case mcpSdk().types.ErrorCode.ConnectionClosed:
      // The SDK fails calls with -32000 after its onclose (connectionLost has run: a new generation). The same
      // code from a live connection is the server's own error (-32000 is a common "server error"), not a loss.
      if (!live) return new BusError(ErrorCodes.AGENT_UNAVAILABLE, `MCP server connection lost: ${msg}`, { retryable: true, cause });
      return new BusError(ErrorCodes.AGENT_UNAVAILABLE, msg, { retryable: false, cause: { ...cause, mcp_code: err.code } });
    default:
      return new BusError(ErrorCodes.AGENT_UNAVAILABLE, msg, { retryable: false, cause: { ...cause, mcp_code: err.code } });
  }
}

/**
 * The text items of an error result joined, no more than `max` characters and a margin (so the redaction still
 * sees a secret that straddles the cut whole).
 */
function errorTextOf(content: CallToolResult['content'], max: number): string {
  let text = '';
  for (const c of content) {
    if (c.type !== 'text' || typeof (c as { text?: unknown }).text !== 'string') continue;
    const t = (c as { text: string }).text;
    text = text ? `${text}\n${t.slice(0, max + 512)}` : t.slice(0, max + 512);
    if (text.length > max + 512) break;
  }
  return text;
}
