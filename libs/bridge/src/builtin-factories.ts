import type { BridgeFactory } from './interfaces/bridge.interface.js';
import { MCP_TOOL_BRIDGE_TYPE, mcpToolBridgeFactory } from './mcp/mcp-tool-bridge.js';
import { OPENCLAW_CHAT_SSE, openClawChatSseBridgeFactory } from './openai/openclaw-chat-sse.bridge.js';
import { MATRIX_EVENT_BRIDGE_TYPE } from './matrix/matrix-config.js';
import { matrixEventBridgeFactory } from './matrix/matrix-event-bridge.js';

/**
 * Bridge types every BridgeModule knows without registration: `openclaw_chat_sse` (OpenAI-compatible chat
 * endpoint → stream target), `mcp_tool` (MCP server tools → invoke targets) and `matrix_event` (Matrix rooms ↔
 * bus events, agents answering in rooms). More types:
 * `registerBridgeFactory(type, factory)` or `BridgeModule.forRoot({ factories: { type: factory } })`.
 */
export function builtinBridgeFactories(): Record<string, BridgeFactory> {
  return {
    [OPENCLAW_CHAT_SSE]: openClawChatSseBridgeFactory,
    [MCP_TOOL_BRIDGE_TYPE]: mcpToolBridgeFactory,
    [MATRIX_EVENT_BRIDGE_TYPE]: matrixEventBridgeFactory,
  };
}
