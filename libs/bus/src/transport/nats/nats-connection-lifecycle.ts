import type { NatsConnection } from '@nats-io/transport-node';
import type { BusLogger } from '../../runtime/bus-logger.js';
import type { TransportStatus } from '../transport.interface.js';

/** What the NATS transport does on a connection's status events. */
export interface NatsStatusHandlers {
  status(status: TransportStatus, detail?: string): void;
  /** After a reconnect: the server (and its max_payload) may have changed. */
  reconnected(): void;
  /** An asynchronous error from the server (a permission violation, say). */
  serverError(err: Error): void;
}

/** Maps nats.js status events of `nc` to transport status until the connection ends (not awaited by the caller). */
export async function watchNatsStatus(nc: NatsConnection, logger: BusLogger, on: NatsStatusHandlers): Promise<void> {
  try {
    for await (const s of nc.status()) {
      switch (s.type) {
        case 'disconnect':
          logger.warn(`NATS connection to ${s.server} lost; reconnecting`);
          on.status('disconnected', `lost connection to ${s.server}`);
          break;
        case 'reconnecting':
          on.status('reconnecting');
          break;
        case 'reconnect':
          on.reconnected();
          logger.log(`NATS reconnected to ${s.server}`);
          on.status('connected', `reconnected to ${s.server}`);
          break;
        case 'close':
          on.status('closed');
          break;
        case 'error':
          on.serverError(s.error);
          break;
        case 'staleConnection':
          logger.warn('NATS connection is stale (no PONG); reconnecting');
          break;
        case 'slowConsumer':
          logger.warn(`NATS slow consumer on ${s.sub.getSubject()}: ${s.pending} messages pending`);
          break;
        default:
          break;
      }
    }
  } catch {
    // the iterator ends with the connection
  }
}

/**
 * Ends a connection: drained (what was published reaches the server, subscriptions finish) within 5 s when it is
 * connected, else closed at once, since nothing can be drained without a server.
 */
export async function endNatsConnection(nc: NatsConnection, connected: boolean): Promise<void> {
  if (nc.isClosed()) return;
  if (!connected) {
    await nc.close().catch(() => undefined);
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      nc.drain(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('drain timed out')), 5000);
      }),
    ]);
  } catch {
    await nc.close().catch(() => undefined);
  } finally {
    if (timer) clearTimeout(timer);
  }
}
