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
// Built-in bridges
export * from './openai/openclaw-chat-sse.bridge.js';
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
export { SseChannel } from './gateway/sse.js';
