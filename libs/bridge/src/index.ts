// Bridge seam
export * from './interfaces/bridge.interface.js';
export * from './bridge-registry.js';
export * from './builtin-factories.js';
// Bridge module: configuration documents, supervision, health
export * from './config/bridge-config.js';
export * from './supervision/bridge-supervisor.js';
export * from './bridge-health.service.js';
export * from './bridge-manager.js';
export { BridgeModule } from './bridge.module.js';
export { BRIDGE_MODULE_OPTIONS, type BridgeModuleOptions, type BridgeModuleExtras } from './bridge.module-definition.js';
// Text from outside (upstream errors, MCP errors, stderr): cut to a bound, then secrets removed, in linear time
export { redactSecrets, MAX_OUTSIDE_TEXT_CHARS, REDACTED } from './http/redact-secrets.js';
// Built-in bridges
export * from './openai/openclaw-chat-sse.bridge.js';
export * from './openai/chat-handoffs.js';
export * from './mcp/index.js';
export * from './matrix/index.js';
// HTTP + SSE gateway and the OpenAI-compatible API
export { GatewayModule } from './gateway/gateway.module.js';
export * from './gateway/gateway.options.js';
export { GatewayService } from './gateway/gateway.service.js';
export { OpenAiCompatService, lastUserText } from './gateway/openai-compat.service.js';
export { GatewayAuthGuard, bearerToken, identityFromUser, type GatewayRequest } from './gateway/gateway-auth.js';
export { ErrorPayloadFilter, GatewayExceptionFilter, GatewayHttpError, toGatewayError, openAiErrorBody } from './gateway/gateway-errors.js';
export { GatewayStream, StreamRegistry } from './gateway/stream-registry.js';
export { EventHub, patternCovers } from './gateway/event-hub.js';
export { ReplayBuffer } from './gateway/replay-buffer.js';
export * from './gateway/agent-card.js';
export { AgentDirectoryService, type GatewayAgentListing } from './gateway/agent-directory.service.js';
export { GatewayDirectory, type ExposedTarget } from './gateway/exposed-targets.js';
export { SseChannel } from './gateway/sse.js';
// Async tasks over the gateway, and A2A JSON-RPC over them (docs/tasks.md, "Gateway and A2A")
export { TaskGatewayService } from './gateway/task-gateway.service.js';
export { A2aJsonRpcService, A2A_JSONRPC_PATH } from './gateway/a2a-jsonrpc.service.js';
export {
  type GatewayA2aOptions,
  type A2aVersion,
  A2aErrorCodes,
  A2aRpcError,
  RESULT_ARTIFACT_ID,
  a2aState,
  a2aTask,
  frameEvents,
  inputOf,
  partsOf,
} from './gateway/a2a-mapping.js';
