// Protocol
export {
  SPEC_VERSION,
  SCHEMA_VERSION,
  EventTypes,
  FRAME_TYPE_OF,
  SESSION_FIELDS,
  REPLY_COPIED_FIELDS,
  isTerminalEventType,
  type ErrorPayload,
  type SessionField,
} from './protocol/envelope.js';
// `Envelope` is both the envelope type and the @Envelope() parameter decorator.
export { Envelope } from './decorators/param.decorators.js';
export * from './protocol/envelope-codec.js';
export * from './protocol/envelope-factory.js';
export * from './protocol/envelope-validator.js';
export * from './protocol/extensions.js';
export * from './protocol/ids.js';
export * from './protocol/subjects.js';
// Errors
export * from './errors/error-codes.js';
export * from './errors/bus-error.js';
export * from './errors/call-aborted-error.js';
export * from './errors/to-bus-error.js';
// Transports
export * from './transport/transport.interface.js';
export * from './transport/memory/memory-broker.js';
export * from './transport/memory/memory-transport.js';
export { subjectMatches } from './transport/memory/subject-match.js';
export * from './transport/nats/nats-transport.js';
export * from './transport/nats/nats-transport-options.js';
export { ChunkHeaders } from './transport/nats/chunking.js';
// The bus API
export { BusClient } from './bus/bus-client.js';
export * from './interfaces/bus-client-options.interface.js';
export * from './interfaces/bus-subscription.interface.js';
export * from './interfaces/call-options.interface.js';
export * from './interfaces/handler.interface.js';
export * from './interfaces/stream-writer.interface.js';
export { StreamCall } from './caller/stream-call.js';
export type { CallTrace } from './caller/call-trace.js';
export * from './caller/result-of.js';
export * from './caller/reorder-buffer.js';
export * from './runtime/bus-stats.js';
export * from './runtime/bus-logger.js';
export type { DeadLetterInfo } from './responder/dead-letter.js';
// Nest ClientProxy over the bus, and the pattern → bus name rule it shares with the server
export { BusClientProxy } from './client/bus-client-proxy.js';
export * from './interfaces/bus-client-proxy-options.interface.js';
export { patternToTarget } from './utils/pattern-target.js';
export type { ServedPattern } from './server/nest-pattern-handlers.js';
// Discovery: the NATS Services API (ADR-32) and DiscoveryClient (docs/discovery.md)
export * from './interfaces/discovery-options.interface.js';
export * from './discovery/discovery-client.js';
export * from './discovery/discovery-watch.js';
export * from './discovery/discovered-endpoint.js';
export * from './discovery/micro-types.js';
export { EndpointMetaKeys, ServiceMetaKeys } from './discovery/endpoint-metadata.js';
export { AnnouncementTypes, announcementSubject, type DiscoveryAnnouncement } from './discovery/announcement.js';
export { serviceNameOf } from './discovery/service-name.js';
export type { LocalService } from './discovery/local-service.js';
export type { ServedEndpoint, TargetAbout } from './discovery/served-endpoint.js';
export type { EndpointCounters } from './discovery/endpoint-counters.js';
export { schemaFromDto, describedDtoSchema } from './discovery/dto-schema.js';
// Orchestration: parallel fan-out and handoff (docs/orchestration.md)
export * from './orchestration/index.js';
// Context
export * from './context/call-context.js';
// NestJS integration
export * from './module/bus.module.js';
export * from './module/bus-module-definition.js';
export * from './module/bus-module-options.interface.js';
// Async tasks (docs/tasks.md)
export * from './tasks/index.js';
export * from './module/bus-session.js';
export * from './module/create-transport.js';
export * from './constants.js';
export * from './server/bus-server.js';
export * from './server/bus-microservice.js';
export * from './ctx-host/bus-rpc-context.js';
export * from './decorators/invoke.decorator.js';
export * from './decorators/stream.decorator.js';
export * from './decorators/subscribe.decorator.js';
export * from './decorators/handler-metadata.js';
export { Payload, Ctx, Session, Signal, Writer } from './decorators/param.decorators.js';
export * from './exceptions/bus-error-http.filter.js';
// Optional peer dependencies
export * from './utils/load-package.js';
// Resilience
export * from './resilience/retry-policy.js';
export * from './resilience/circuit-breaker.js';
export * from './resilience/bulkhead.js';
export * from './resilience/call-policy.js';
export * from './observability/bus-tracing.js';
export * from './observability/bus-metrics.js';
export * from './observability/bus-health.indicator.js';
