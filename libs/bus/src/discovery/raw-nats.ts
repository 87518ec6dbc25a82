import type { NatsConnection } from '@nats-io/transport-node';
import type { Transport } from '../transport/transport.interface.js';

/**
 * What discovery uses of a NATS connection: plain subscriptions and JSON messages outside the acp/1.0 envelope
 * (the Services API is its own protocol), taken from the transport's own connection, so no second connection.
 */
export type RawNats = Pick<NatsConnection, 'subscribe' | 'publish' | 'flush' | 'isClosed'>;

/** The transport's nats.js connection when it is a connected NatsTransport (or alike), else undefined. */
export function rawNatsOf(transport: Transport): RawNats | undefined {
  if (transport.kind !== 'nats') return undefined;
  const nc = (transport as Transport & { connection?: RawNats }).connection;
  return nc && typeof nc.subscribe === 'function' && typeof nc.publish === 'function' ? nc : undefined;
}
