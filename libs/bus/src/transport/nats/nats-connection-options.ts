import { readFileSync } from 'node:fs';
import type { Authenticator, NodeConnectionOptions } from '@nats-io/transport-node';
import { BusError } from '../../errors/bus-error.js';
import { ErrorCodes } from '../../errors/error-codes.js';
import type { NatsClient } from './nats-client.js';
import type { NatsTransportOptions } from './nats-transport-options.js';
import type { ServerAvoidance } from './server-avoidance.js';

const encoder = new TextEncoder();

/**
 * A frozen or unreachable server is noticed within (maxPingOut + 1) × pingInterval = 4 s, then the connection moves
 * to another server. nats.js's own default (2 min × 2) leaves every call on a hung server's connection to time out
 * for minutes, retries included. One PING a second per connection, not per message: nothing on the hot path.
 */
export const DEFAULT_PING_INTERVAL = 1000;
export const DEFAULT_MAX_PING_OUT = 3;

/** The nats.js connection options for our transport options: auth (creds, nkey, user/pass, token), TLS, timing. */
export function natsConnectionOptions(
  client: NatsClient,
  o: NatsTransportOptions,
  servers: string[],
  avoidance?: ServerAvoidance,
): NodeConnectionOptions {
  const authenticators: Authenticator[] = [];
  if (o.credsFile) authenticators.push(client.credsAuthenticator(readCredsFile(o.credsFile)));
  if (o.nkeySeed) authenticators.push(client.nkeyAuthenticator(encoder.encode(o.nkeySeed)));
  const opts: NodeConnectionOptions = {
    servers,
    // nats.js would capture a stack per request; we never use it and it costs a third of a call's CPU.
    noAsyncTraces: true,
    reconnect: o.reconnect ?? true,
    maxReconnectAttempts: o.maxReconnectAttempts ?? -1,
    reconnectTimeWait: o.reconnectTimeWait ?? 2000,
    reconnectJitter: o.reconnectJitter ?? 100,
    timeout: o.timeout ?? 5000,
  };
  if (o.name) opts.name = o.name;
  // nats.js's own request inboxes (JetStream API calls, discovery) under the same prefix as the bus's, so one
  // subscribe permission on `<inboxPrefix>.>` covers every reply this connection gets.
  if (o.inboxPrefix !== undefined) opts.inboxPrefix = o.inboxPrefix;
  if (o.user !== undefined) opts.user = o.user;
  if (o.pass !== undefined) opts.pass = o.pass;
  if (o.token !== undefined) opts.token = o.token;
  if (authenticators.length > 0) opts.authenticator = authenticators.length === 1 ? authenticators[0] : authenticators;
  if (o.tls) opts.tls = { ...o.tls };
  opts.pingInterval = o.pingInterval ?? DEFAULT_PING_INTERVAL;
  opts.maxPingOut = o.maxPingOut ?? DEFAULT_MAX_PING_OUT;
  if (avoidance) opts.reconnectToServer = avoidance.pick;
  return opts;
}

/**
 * A `.creds` file's bytes. One that cannot be read, or is not a creds file, is a credentials problem (nats.js
 * would report the second only at connect, as a connection failure to retry).
 */
function readCredsFile(path: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new BusError(ErrorCodes.AUTH_FAILURE, `NATS credentials file ${path} cannot be read: ${(err as Error).message}`, {
      retryable: false,
      cause: { credsFile: path },
    });
  }
  const text = Buffer.from(bytes).toString('utf8');
  if (!/-{3,}BEGIN NATS USER JWT-{3,}/.test(text) || !/-{3,}BEGIN USER NKEY SEED-{3,}/.test(text)) {
    throw new BusError(
      ErrorCodes.AUTH_FAILURE,
      `NATS credentials file ${path} is not a .creds file: it needs a "BEGIN NATS USER JWT" and a "BEGIN USER NKEY SEED" block (as nsc writes them)`,
      { retryable: false, cause: { credsFile: path } },
    );
  }
  return bytes;
}
