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

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/**
 * A unique subject token for inboxes, made without the client (a bus names its inbox before it connects): 22
 * random alphanumeric characters, like a nuid (about 131 bits), so any peer's subject rules accept it.
 */
export function uniqueToken(): string {
  const bytes = randomBytes(22);
  let out = '';
  for (const b of bytes) out += ALPHABET[b % 62];
  return out;
}
