// The public API of @openagentio/nestjs-bridges. Every name is listed on purpose, by section;
// test/packaging/public-api.test.ts holds the list to test/packaging/api/nestjs-bridges.txt. What only this
// package, its tests or the other packages need is not here: it stays reachable under
// `@openagentio/nestjs-bridges/internal/<path>.js`, which is not a stable API.

// BridgeModule: configuration documents, supervision, health (docs/bridges.md)
export { BridgeError } from './errors/bridge-error.js';
export { BridgeModule } from './bridge.module.js';
export type { BridgeModuleOptions, BridgeModuleExtras } from './bridge.module-definition.js';
// Text from outside (upstream errors, MCP errors, stderr): cut to a bound, then secrets removed, in linear time
export { redactSecrets, MAX_OUTSIDE_TEXT_CHARS, REDACTED } from './http/redact-secrets.js';
export {
  type BridgeHealthStatus,
  type BridgeHealth,
  type BridgeContext,
  type Bridge,
  PermanentBridgeError,
  type BridgeDefinition,
  type BridgeFactory,
} from './interfaces/bridge.interface.js';
export { registerBridgeFactory } from './bridge-registry.js';
export { BRIDGE_CONFIG_VERSION, type BridgeConfigDocument, type BridgeConfigSource, BridgeConfigError } from './config/bridge-config.js';
export type { SupervisionOptions } from './interfaces/supervision-options.interface.js';
export type { SupervisedBridgeHealth } from './supervision/bridge-supervisor.js';
export { type BridgesHealth, BridgeHealthService } from './bridge-health.service.js';

// Built-in bridge: MCP both ways (docs/mcp.md)
export { McpToolBridge, mcpToolBridgeFactory, MCP_TOOL_BRIDGE_TYPE } from './mcp/mcp-tool-bridge.js';
export { McpMetaKeys } from './mcp/mcp-meta-keys.js';
export type { McpToolResult, McpProgress, McpToolBridgeStats } from './interfaces/mcp-tool-bridge.interface.js';
export type { McpToolBridgeConfig, McpTransportKind, McpRoot } from './mcp/mcp-config.js';
export { toolTargetToken } from './mcp/mcp-names.js';
export { McpBusEndpoint } from './mcp/mcp-bus-endpoint.js';
export type { McpExposedTool, McpBusEndpointOptions, McpHttpListener } from './interfaces/mcp-bus-endpoint-options.interface.js';
// Its home is @openagentio/nestjs (discovery reads DTO schemas too); kept for whoever imported it from here.
export { schemaFromDto } from './mcp/mcp-dto-schema.js';

// Built-in bridge: OpenAI-compatible chat over SSE (docs/bridges.md)
export {
  OPENCLAW_CHAT_SSE,
  type OpenClawChatSseConfig,
  OpenClawChatSseBridge,
  openClawChatSseBridgeFactory,
} from './openai/openclaw-chat-sse.bridge.js';

// Built-in bridge: Matrix rooms (docs/matrix.md)
export { MatrixEventBridge, matrixEventBridgeFactory, type MatrixBridgeStats } from './matrix/matrix-event-bridge.js';
export { MATRIX_EVENT_BRIDGE_TYPE, type MatrixBridgeConfig, type MatrixRespondConfig } from './matrix/matrix-config.js';
export { FileCursorStore, MemoryCursorStore, NatsKvCursorStore, type MatrixCursorStore } from './matrix/matrix-cursor-store.js';
export type { MatrixAnswerStats } from './matrix/matrix-answer.js';
export type { MatrixSendStats } from './matrix/matrix-room-sender.js';
