// Protocol
export * from './protocol/envelope.js';
export * from './protocol/envelope-codec.js';
export * from './protocol/envelope-factory.js';
export * from './protocol/envelope-validator.js';
export * from './protocol/extensions.js';
export * from './protocol/ids.js';
export * from './protocol/subjects.js';
// Errors
export * from './errors/error-codes.js';
export * from './errors/bus-error.js';
export * from './errors/to-bus-error.js';
// Transports
export * from './transport/transport.interface.js';
export * from './transport/memory/memory-broker.js';
export * from './transport/memory/memory-transport.js';
export { subjectMatches } from './transport/memory/subject-match.js';
// Client and server
export * from './client/bus-client.js';
export * from './client/call-options.js';
export * from './client/stream-call.js';
export * from './client/reorder-buffer.js';
export * from './client/bus-stats.js';
export * from './client/bus-logger.js';
export * from './server/responder.js';
export * from './server/stream-writer.js';
// Context
export * from './context/call-context.js';
