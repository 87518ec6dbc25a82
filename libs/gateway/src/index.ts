// The public API of @openagentio/nestjs-gateway. Every name is listed on purpose, by section;
// test/packaging/public-api.test.ts holds the list to test/packaging/api/nestjs-gateway.txt. What only this
// package or its tests need is not here: it stays reachable under
// `@openagentio/nestjs-gateway/internal/<path>.js`, which is not a stable API.

// HTTP + SSE gateway, the OpenAI-compatible API, A2A and the agent card (docs/gateway.md)
export { GatewayModule } from './gateway.module.js';
export { GatewayService } from './gateway.service.js';
export type { GatewayRequest } from './gateway-auth.js';
export { ErrorPayloadFilter } from './gateway-errors.js';
export type { GatewayA2aOptions, A2aVersion } from './a2a-mapping.js';
export type { GatewayPushOptions } from './push-notifications.js';
export type {
  GatewayIdentity,
  GatewayAuthenticator,
  GatewayCorsOptions,
  GatewayOpenAiOptions,
  GatewayTargetResolver,
  GatewayModuleOptions,
  GatewayModuleExtras,
} from './gateway.options.js';

// Quotas and the audit trail at the edge (docs/security.md "Quotas", "Audit trail")
export type { GatewayQuotaOptions, QuotaRate, QuotaRates, QuotaKind } from './quota/quota-options.js';
export { QuotaMetricNames } from './quota/quota-metrics.js';
export { AUDIT_EVENT_GATEWAY } from './audit/gateway-audit.middleware.js';
export type {
  A2aAgentInterface,
  A2aAgentProvider,
  A2aAgentExtension,
  A2aAgentSkill,
  A2aAgentCard,
  GatewayAgentCardOptions,
} from './agent-card.js';

// The operator's console: topology, traffic and tasks, live (docs/console.md)
export { ConsoleModule } from './console/console.module.js';
export { ConsoleCollector } from './console/console-collector.service.js';
export type { ConsoleModuleOptions } from './console/console.options.js';
export type { ConsoleSnapshot, ConsoleAgent, ConsoleEdge, ConsoleTraffic } from './console/console-collector.service.js';
export type { TrafficPoint } from './console/traffic-window.js';
