// The public API of @openagentio/nestjs. Every name is listed on purpose, by section;
// test/packaging/public-api.test.ts holds the list to test/packaging/api/nestjs.txt. What only this
// package, its tests or the other package need is not here: it stays reachable under
// `@openagentio/nestjs/internal/<path>.js`, which is not a stable API.

// The bus client: invoke, stream, publish, subscribe (README.md)
export { BusClient } from './bus/bus-client.js';
export { StreamCall } from './caller/stream-call.js';
export type { CallTrace } from './caller/call-trace.js';
export type { DeadLetterInfo } from './responder/dead-letter.js';
export type { BusClientOptions } from './interfaces/bus-client-options.interface.js';
export type { BusSubscription } from './interfaces/bus-subscription.interface.js';
export type { CallOptions, StreamOptions, PublishOptions, SubscribeOptions, HandlerOptions } from './interfaces/call-options.interface.js';
export type { HandlerContext, InvokeHandler, StreamHandler, EventHandler } from './interfaces/handler.interface.js';
export type { StreamWriter } from './interfaces/stream-writer.interface.js';
export type { DeliverFrom, DurableEventsOptions, DurableSubscribeOptions, ReplayOptions } from './durable/durable-options.js';
export { BusStats } from './runtime/bus-stats.js';
export { type BusLogger, consoleBusLogger } from './runtime/bus-logger.js';

// Call context: the current call, its session and trace (README.md "Sessions"), and a wait that ends with the call
export { currentCallContext, type SessionInfo, type TraceInfo, type CallContext } from './context/call-context.js';
export { abortableSleep } from './timers/abortable-sleep.js';

// Errors and their codes (docs/protocol.md "Errors")
export { isErrorCode, ErrorCodes, type ErrorCode } from './errors/error-codes.js';
export { type BusErrorOptions, BusError } from './errors/bus-error.js';
export { CallAbortedError } from './errors/call-aborted-error.js';
export { MissingPackageError } from './utils/load-package.js';

// Transports: in-memory and NATS, and the interface a new one implements
export type {
  TransportMessage,
  TransportMessageHandler,
  TransportSubscribeOptions,
  DirectEndpoint,
  TransportSubscription,
  TransportPublishOptions,
  TransportStatus,
  Transport,
} from './transport/transport.interface.js';
export { MemoryBroker } from './transport/memory/memory-broker.js';
export { type MemoryTransportOptions, MemoryTransport } from './transport/memory/memory-transport.js';
export { NatsTransport } from './transport/nats/nats-transport.js';
export type { NatsPermissionRule, NatsTlsOptions, NatsTransportOptions } from './transport/nats/nats-transport-options.js';

// Protocol: the acp/1.0 envelope, its codec, extensions and subjects (docs/protocol.md)
export { SPEC_VERSION, SCHEMA_VERSION, EventTypes, type ErrorPayload } from './protocol/envelope.js';
export { encodeEnvelope, decodeEnvelope } from './protocol/envelope-codec.js';
export { createReply } from './protocol/envelope-factory.js';
export { surelyValid } from './protocol/envelope-validator.js';
export { ADVERTISED_EXTENSIONS } from './protocol/extensions.js';
export { isPublishableSubject, assertName, SubjectScheme, MAX_SUBJECT_LENGTH } from './protocol/subjects.js';

// NestJS: the module, the handler decorators, the transport strategy and ClientProxy (docs/nest-transport.md)
export { Envelope, Payload, Ctx, Session, Signal, Writer } from './decorators/param.decorators.js';
export { BusClientProxy } from './client/bus-client-proxy.js';
export { patternToTarget } from './utils/pattern-target.js';
export type { BusClientProxyOptions } from './interfaces/bus-client-proxy-options.interface.js';
export { BusModule } from './module/bus.module.js';
export type { NatsTransportConfig, BusTransportConfig, BusModuleOptions } from './module/bus-module-options.interface.js';
export { BusSession } from './module/bus-session.js';
export { BusServer } from './server/bus-server.js';
export { busMicroservice } from './server/bus-microservice.js';
export { BusRpcContext } from './ctx-host/bus-rpc-context.js';
export { Invoke } from './decorators/invoke.decorator.js';
export { Stream } from './decorators/stream.decorator.js';
export { Subscribe } from './decorators/subscribe.decorator.js';
export { BusErrorHttpFilter } from './exceptions/bus-error-http.filter.js';

// Discovery: the NATS Services API (ADR-32) and DiscoveryClient (docs/discovery.md)
export { EndpointMetaKeys, ServiceMetaKeys } from './discovery/endpoint-metadata.js';
export { schemaFromDto } from './discovery/dto-schema.js';
export type { DiscoveryOptions } from './interfaces/discovery-options.interface.js';
export {
  type DiscoveryClientOptions,
  type DiscoveryClientBus,
  type DiscoveredAgent,
  type DiscoveredTarget,
  DiscoveryClient,
} from './discovery/discovery-client.js';
export { type DiscoveryEvent, type DiscoveryWatchOptions, DiscoveryWatch } from './discovery/discovery-watch.js';
export type { DiscoveredEndpoint } from './discovery/discovered-endpoint.js';
export type { DrainResponse } from './discovery/drain-control.js';
export type {
  ServiceIdentity,
  ServicePing,
  ServiceEndpointInfo,
  ServiceInfo,
  ServiceEndpointStats,
  ServiceStats,
} from './discovery/micro-types.js';

// Orchestration: parallel fan-out, handoff and session routes (docs/orchestration.md)
export type { OrchestrationHost } from './orchestration/orchestration-host.js';
export { ParallelRun, type ParallelListener } from './orchestration/parallel-run.js';
export { ParallelStream } from './orchestration/parallel-stream.js';
export { HandoffStream } from './orchestration/handoff-stream.js';
export type { InvokeBranch, StreamBranch, ParallelBranch, BranchStatus, BranchOutcome } from './orchestration/parallel-branch.js';
export type { ParallelMode, ParallelOptions, ParallelResult, ParallelEvent } from './orchestration/parallel-options.js';
export { ParallelError } from './orchestration/parallel-error.js';
export type { ChatMessage } from './orchestration/chat-message.js';
export { handoffOf, type HistoryPolicyName, type HandoffHistory, type HandoffInfo } from './orchestration/handoff-info.js';
export { handoffMarkerOf, type HandoffMarker } from './orchestration/handoff-marker.js';
export { removeToolMessages, type HistoryPolicy } from './orchestration/handoff-history.js';
export type { HandoffOptions } from './orchestration/handoff-options.js';
export { HANDOFF_EVENT_TYPE, type HandoffEventPayload } from './orchestration/handoff-event.js';
export { handoffTool, type HandoffToolDefinition } from './orchestration/handoff-tool.js';
export { type ConversationStore, MemoryConversationStore } from './orchestration/conversation-store.js';
export { type ActiveAgent, type ActiveAgentStore, MemoryActiveAgentStore } from './orchestration/active-agent-store.js';
export { type SessionRoutesOptions, SessionRoutes } from './orchestration/session-routes.js';

// Async tasks (docs/tasks.md)
export { MemoryTaskStore, type MemoryTaskStoreOptions } from './tasks/memory-task-store.js';
export { JetStreamTaskStore, type JetStreamTaskStoreOptions } from './tasks/jetstream-task-store.js';
export { TaskClient, type SubmitOptions, type TaskWebhookInput } from './tasks/task-client.js';
export { TaskContext, TaskPause } from './tasks/task-context.js';
export type { TaskHandler, TaskHandlerOptions } from './tasks/task-worker.js';
export { Task } from './tasks/task.decorator.js';
export { TasksModule, TASK_STORE } from './tasks/tasks.module.js';
export type { TasksModuleOptions } from './tasks/tasks.module-definition.js';
export {
  isTerminalTaskState,
  type TaskState,
  TERMINAL_TASK_STATES,
  TaskEventTypes,
  type TaskMessage,
  type TaskArtifact,
  type TaskRecord,
  type TaskLease,
  type TaskCallback,
  type TaskWebhook,
  type TaskListQuery,
  type TaskPage,
} from './tasks/task.types.js';
export type { VersionedTask, TaskDelivery, TaskConsumer, TaskStore } from './tasks/task-store.interface.js';

// Least privilege: each agent's NATS permissions from its code, the server configuration (docs/security.md)
export type { AgentSpec, AppSpec, InvokePolicyRule } from './security/agent-spec.js';
export type { AgentPermissions, NatsPermissions } from './security/nats-permissions.js';
export { agentPermissions } from './security/agent-permissions.js';
export { agentInboxPrefix } from './security/agent-inbox.js';
export { describeBus } from './security/describe-bus.js';
export {
  appPermissions,
  credentialVariable,
  natsPermissionRulesFor,
  natsServerAuthorization,
  nscCommands,
  type Credential,
} from './security/server-config.js';

// Resilience: retry, circuit breaker, bulkhead (docs/observability.md "Resilience")
export type { RetryPolicy } from './resilience/retry-policy.js';
export type { CircuitBreakerOptions, CircuitState } from './resilience/circuit-breaker.js';
export type { BulkheadOptions } from './resilience/bulkhead.js';
export type { CallPolicy, BusPolicies } from './resilience/call-policy.js';

// Observability: metric and span names, health (docs/observability.md)
export { SpanNames } from './observability/bus-tracing.js';
export { MetricNames } from './observability/bus-metrics.js';
export { SpanRing, type RecentSpan, type SpanQuery } from './observability/span-ring.js';
export { AUDIT_LOGGER, AUDIT_EVENT_SERVED } from './observability/bus-audit.js';
export {
  type HealthIndicatorStatus,
  type HealthIndicatorResult,
  type BusHealthSource,
  BUS_HEALTH_SOURCES,
  BusHealthIndicator,
} from './observability/bus-health.indicator.js';
