import { randomBytes } from 'node:crypto';
import { loadPackage } from '../../utils/load-package.js';

/** The NATS client package: an optional peer, loaded when a NATS transport first connects. */
export type NatsClient = typeof import('@nats-io/transport-node');

let loaded: Promise<NatsClient> | undefined;

export function loadNatsClient(): Promise<NatsClient> {
  return (loaded ??= loadPackage('@nats-io/transport-node', 'NatsTransport', () => import('@nats-io/transport-node')).catch((err) => {
    loaded = undefined;
    throw err;
  }));
}

/**
 * A unique subject token for inboxes, made without the client (a bus names its inbox before it connects):
 * 16 random bytes in base64url, characters NATS subjects accept.
 */
export function uniqueToken(): string {
  return randomBytes(16).toString('base64url');
}
