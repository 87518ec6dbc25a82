import type { JSONRPCMessage, RequestId } from '@modelcontextprotocol/sdk/types.js';

/** The limits of an `mcp_tool` bridge that a server's answer can run into (the config keys of McpToolBridgeConfig). */
export type McpLimit = 'max_message_bytes' | 'max_background_event_bytes' | 'max_tool_pages';

// A JSON-RPC error code of the implementation-defined server range, for answers the bridge refused to read.
export const LIMIT_ERROR_CODE = -32099;

/** An answer of the MCP server that went past one of the bridge's limits; `limit` is the config key. */
export class McpLimitError extends Error {
  constructor(
    readonly limit: McpLimit,
    readonly value: number,
    what: string,
  ) {
    super(`${what} exceeds ${limit} (${value})`);
    this.name = 'McpLimitError';
  }
}

/**
 * The JSON-RPC error response the bridge hands to the SDK in place of an answer it refused to read, so the one
 * request it answered fails at once (not at its timeout) and names the limit in `data`.
 */
export function limitErrorResponse(id: RequestId, err: McpLimitError): JSONRPCMessage {
  return {
    jsonrpc: '2.0',
    id,
    error: { code: LIMIT_ERROR_CODE, message: err.message, data: { limit: err.limit, value: err.value } },
  };
}

/** The limit a refused answer named (from McpLimitError, or an McpError built from `limitErrorResponse`). */
export function limitOf(err: unknown): { limit: McpLimit; value: number } | undefined {
  if (err instanceof McpLimitError) return { limit: err.limit, value: err.value };
  const e = err as { code?: unknown; data?: { limit?: unknown; value?: unknown } } | undefined;
  if (e?.code !== LIMIT_ERROR_CODE || typeof e.data?.limit !== 'string' || typeof e.data.value !== 'number') return undefined;
  return { limit: e.data.limit as McpLimit, value: e.data.value };
}

/**
 * How deeply `value` nests (objects and arrays), counting at most to `max + 1`: an iterative walk (no stack to
 * exhaust) that stops at the first node past `max`.
 */
export function nestingDepth(value: unknown, max: number): number {
  if (value === null || typeof value !== 'object') return 0;
  let deepest = 1;
  const stack: Array<[object, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (depth > deepest) deepest = depth;
    if (depth > max) return depth;
    const children = Array.isArray(v) ? v : Object.values(v);
    for (const c of children) if (c !== null && typeof c === 'object') stack.push([c, depth + 1]);
  }
  return deepest;
}
