import type { BusLogger } from '../../runtime/bus-logger.js';

/** TLS settings for the NATS connection (Node: file paths or PEM strings). `{}` requires TLS with the system CAs. */
export interface NatsTlsOptions {
  caFile?: string;
  ca?: string;
  certFile?: string;
  cert?: string;
  keyFile?: string;
  key?: string;
  handshakeFirst?: boolean;
}

/** Options of a NatsTransport (a connection to a NATS server or cluster). */
export interface NatsTransportOptions {
  /** Server URL(s), e.g. `nats://127.0.0.1:4222` or a list for a cluster. Default `nats://127.0.0.1:4222`. */
  servers?: string | string[];
  /** Connection name shown by the server's monitoring. */
  name?: string;
  /** User/password authentication. */
  user?: string;
  pass?: string;
  /** Token authentication. */
  token?: string;
  /** Path of a `.creds` file (JWT + nkey seed) for decentralised auth. */
  credsFile?: string;
  /** An nkey seed (`SU...`) for nkey authentication. */
  nkeySeed?: string;
  tls?: NatsTlsOptions;
  /**
   * First token(s) of this connection's reply subjects (the bus's call inbox and the chunk machinery's), for
   * accounts whose users may subscribe only below their own prefix. Default `_INBOX`. Example: `_INBOX_billing`,
   * with subscribe permission on `_INBOX_billing.>`.
   */
  inboxPrefix?: string;
  /** Reconnect after a lost connection. Default true. */
  reconnect?: boolean;
  /** Reconnect attempts per server before giving up; -1 for ever. Default -1 (a bus keeps trying). */
  maxReconnectAttempts?: number;
  /** Milliseconds between reconnect attempts to the same server. Default 2000. */
  reconnectTimeWait?: number;
  /** Upper bound of the random jitter added to reconnectTimeWait (ms). Default 100. */
  reconnectJitter?: number;
  /** Milliseconds to wait for the handshake at connect. Default 5000. */
  timeout?: number;
  /**
   * Client ping interval (ms) and how many PINGs may go unanswered before the connection is stale and is moved to
   * another server. A frozen server is noticed within (maxPingOut + 1) × pingInterval. Default 1000 ms and 3 (4 s).
   */
  pingInterval?: number;
  maxPingOut?: number;
  /**
   * Largest message (bytes) this transport sends without chunking. Default: the server's `max_payload`;
   * a smaller value here wins (useful in tests).
   */
  maxPayload?: number;
  /** Largest envelope (bytes of JSON) sent or reassembled, chunked or not. Default 64 MiB. */
  maxMessageSize?: number;
  /** How long a sender keeps the chunks of a large message for receivers to fetch, and a receiver waits for them (ms). Default 30 000. */
  chunkTimeout?: number;
  /**
   * Names for permission denials: when the server refuses a publish or subscription whose subject matches one of
   * these patterns, the AUTH_FAILURE message and `cause.rule` name the rule (for example an invoke policy's deny
   * entry, docs/security.md). `natsPermissionRulesFor()` builds them from an app's permissions. Default none.
   */
  permissionRules?: readonly NatsPermissionRule[];
  /**
   * Log a warning once when the server requires no authentication (its INFO says `auth_required: false`), so
   * every client may publish and subscribe anywhere on the account. Default true.
   */
  warnOpenAccount?: boolean;
  /** Where connection problems (permission violations, reconnects) are logged. Default: console. */
  logger?: BusLogger;
}

export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
export const DEFAULT_CHUNK_TIMEOUT = 30_000;

/** A named permission rule: a denial on a subject matching `subject` (NATS wildcards) is reported under `rule`. */
export interface NatsPermissionRule {
  operation: 'publish' | 'subscribe';
  subject: string;
  rule: string;
}
