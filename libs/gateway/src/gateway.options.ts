import { randomBytes } from 'node:crypto';
import type { CanActivate, Type } from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { GatewayAgentCardOptions } from './agent-card.js';
import type { GatewayA2aOptions } from './a2a-mapping.js';
import { type GatewayPushOptions, resolvePushOptions, type ResolvedPushOptions } from './push-notifications.js';
import type { SessionInfo } from '@openagentio/nestjs';
import type { GatewayQuotaOptions } from './quota/quota-options.js';

/** Who a request is: set by the authenticator; its tenant and user cannot be overridden by request headers. */
export interface GatewayIdentity {
  /** Free-form principal name (for logs). */
  subject?: string;
  tenant_id?: string;
  user_id?: string;
}

/**
 * Decides who a request is. Return an identity, or `undefined` / throw for 401. `token` is the bearer token
 * (`Authorization: Bearer …`, or `?access_token=` on GET event streams, which EventSource cannot set headers for).
 */
export type GatewayAuthenticator = (
  req: IncomingMessage,
  token: string | undefined,
) => GatewayIdentity | undefined | Promise<GatewayIdentity | undefined>;

export interface GatewayCorsOptions {
  /** Allowed origins, or '*' for any. */
  origins: '*' | string[];
  credentials?: boolean;
  /** Preflight cache (seconds). Default 600. */
  maxAge?: number;
}

export interface GatewayOpenAiOptions {
  /** Model name → bus stream target (or a list of targets served under their own names). */
  models: Record<string, string> | string[];
  /** `owned_by` of GET /v1/models entries. Default "openagentio". */
  ownedBy?: string;
  /**
   * Builds the bus payload from the chat-completions request body. Default:
   * `{ messages, model, text: <last user message>, …sampling options }`.
   */
  toPayload?: (body: Record<string, any>, target: string) => unknown;
}

/**
 * Chooses the bus target a gateway request goes to (return undefined to keep it). `kind` says which endpoint:
 * `invoke`, `stream` (the three stream endpoints) or `chat` (the OpenAI-compatible API, `target` being the model's).
 */
export type GatewayTargetResolver = (
  target: string,
  call: { kind: 'invoke' | 'stream' | 'chat'; session: Readonly<SessionInfo> },
) => string | undefined | Promise<string | undefined>;

export interface GatewayModuleOptions {
  /** Targets callable with POST /v1/agents/{t}/invoke: names or patterns (`*`, `>`). Nothing by default. */
  invokeTargets?: string[];
  /** Targets streamable with POST /v1/agents/{t}/stream(s). Nothing by default. */
  streamTargets?: string[];
  /**
   * Targets POST /v1/agents/{t}/tasks submits async tasks to (names or patterns; needs TasksModule in the
   * application, docs/tasks.md, "Gateway and A2A"). Nothing by default.
   */
  taskTargets?: string[];
  /** Event types (or patterns) a client may publish with POST /v1/events/{type}. Nothing by default. */
  publishEvents?: string[];
  /** Patterns a client may subscribe to with GET /v1/events?pattern=… (a pattern must lie inside one of these). */
  subscribeEvents?: string[];
  /** Bus stream targets served as an OpenAI-compatible API (POST /v1/chat/completions, GET /v1/models). */
  openai?: GatewayOpenAiOptions;
  /**
   * What the A2A agent card (`/.well-known/agent-card.json`) says about the gateway: name, description, version,
   * public URL, provider. Its skills are the exposed targets that discovery finds (docs/discovery.md).
   */
  agentCard?: GatewayAgentCardOptions;
  /**
   * A2A JSON-RPC over the tasks at POST /v1/a2a, named in the agent card: `{ target }` (docs/tasks.md, "Gateway and
   * A2A"). Off by default.
   */
  a2a?: GatewayA2aOptions;
  /**
   * Task webhooks: A2A push notifications and `X-Callback-Url` on the task routes (docs/tasks.md, "Callbacks and
   * push notifications"): the URLs they may point at (`allowUrls`, nothing by default), retries, signing.
   */
  pushNotifications?: GatewayPushOptions;
  /**
   * Authentication: a map of bearer token → identity, or an authenticator function. Without it (and without
   * `guards`) requests are anonymous and tenant/user come from the X-Tenant-Id / X-User-Id headers.
   */
  auth?: { bearerTokens: Record<string, GatewayIdentity> } | GatewayAuthenticator;
  /**
   * Nest guards run on every gateway route (after `auth`). A guard that returns false is a 401; an identity is
   * read from `req.user` ({tenant_id|tenantId|tenant, user_id|userId|sub|id}).
   */
  guards?: Type<CanActivate>[];
  /** Largest accepted request body in bytes (413 above). Default 1 MiB. */
  bodyLimit?: number;
  /** CORS for browser apps on other origins. Default: no CORS headers (same-origin only). */
  cors?: GatewayCorsOptions;
  /** SSE heartbeat comment interval (ms). Default 15 000. */
  heartbeatMs?: number;
  /** Reconnection delay an EventSource is told to use (SSE `retry:`, ms). Default 1 000. */
  retryMs?: number;
  /** Frames kept per stream for resumption (Last-Event-ID). Default 2 000. */
  streamReplayFrames?: number;
  /** Estimated bytes of frames kept per stream for replay. Default 8 MiB. */
  streamReplayBytes?: number;
  /**
   * Bytes of frames an SSE stream holds unread while its client is slow, from an agent without flow control (an
   * upstream runtime, which cannot be slowed down); past it the stream ends with BACKPRESSURE_DROP. Agents with flow
   * control are held instead. Default 8 MiB (the bus's own default, `maxBufferedBytes`, is 32 MiB).
   */
  streamUnreadBytes?: number;
  /** Detached streams (POST …/streams, GET …/stream) one identity may have running; more are 429. Default 16. */
  maxDetachedStreams?: number;
  /**
   * Task followers one identity may hold open at once (anonymous clients share one): SSE on
   * /v1/tasks/{id}/events, A2A streams and blocking A2A sends; more are 429 BACKPRESSURE_DROP. Default 32.
   */
  maxTaskFollowers?: number;
  /** Events kept per subscribed pattern for resumption. Default 500. */
  eventReplayEvents?: number;
  /** A detached stream (POST …/streams) with no client attached is cancelled after this long (ms). Default 30 000. */
  detachGraceMs?: number;
  /** Finished streams (and idle event feeds) stay attachable this long (ms). Default 60 000. */
  retentionMs?: number;
  /** Timeouts passed to the bus (ms). Default: the bus defaults. */
  invokeTimeout?: number;
  streamTimeout?: number;
  /** Accept `?access_token=` on GET SSE endpoints (EventSource cannot send headers). Default true. */
  allowQueryToken?: boolean;
  /**
   * Several gateway replicas behind one load balancer: each serves its detached streams to the others over the
   * bus, so GET and DELETE /v1/streams/{id} work on any replica, whichever started the stream. Stream ids carry
   * the replica that runs them (`<replicaId>~<uuid>`). Default true; false keeps streams to their replica.
   */
  peerStreams?: boolean;
  /**
   * This replica's name in stream ids and in its bus targets (`gateway.peer.<replicaId>.attach|cancel`):
   * letters, digits, `_` and `-`. Default: random per process.
   */
  replicaId?: string;
  /**
   * Path prefixes outside the gateway (for example `['/demo/']`) whose errors are answered the gateway's way, as
   * ErrorPayload bodies with the acp/1.0 status: the body parser's errors (bad JSON 400, too large 413) always,
   * and every other exception where GatewayExceptionFilter is registered as a global filter. Default: none.
   */
  errorPayloadPaths?: string[];
  /**
   * Send a session's turns where a handoff left it (docs/orchestration.md): after `triage` handed session `s1` to
   * `billing`, a request of `s1` addressed to `triage` goes to `billing`. The gateway follows the handoff events on
   * the bus (SessionRoutes, kept in this process). Only to targets this gateway exposes for that endpoint.
   * Default false.
   */
  followHandoffs?: boolean;
  /** Your own choice of target per request, after `followHandoffs` (same rule: only exposed targets). */
  resolveTarget?: GatewayTargetResolver;
  /**
   * Request quotas per identity and per tenant (token buckets; invokes, stream opens and task submissions apart):
   * 429 `BACKPRESSURE_DROP` with `Retry-After` past them. Off by default. docs/security.md, "Quotas".
   */
  quotas?: GatewayQuotaOptions;
  /**
   * An audit trail: one OpenTelemetry log record per gateway request (identity, method, path, target, status,
   * outcome, duration, trace id; never a body). Default false. docs/security.md, "Audit trail".
   */
  audit?: boolean;
}

export interface GatewayModuleExtras {
  isGlobal?: boolean;
  /**
   * Answer errors of the application's body parser (bad JSON, body over its limit) on gateway paths with
   * ErrorPayload bodies (an Express error middleware, installed before Nest's error handler), and under the
   * `errorPayloadPaths` prefixes; errors on other paths pass through untouched. Default true.
   */
  handleParserErrors?: boolean;
}

export interface ResolvedGatewayOptions extends Required<
  Omit<
    GatewayModuleOptions,
    | 'openai'
    | 'auth'
    | 'cors'
    | 'invokeTimeout'
    | 'streamTimeout'
    | 'resolveTarget'
    | 'agentCard'
    | 'a2a'
    | 'pushNotifications'
    | 'quotas'
    | 'audit'
  >
> {
  pushNotifications: ResolvedPushOptions;
  resolveTarget?: GatewayTargetResolver;
  openai?: GatewayOpenAiOptions;
  agentCard?: GatewayAgentCardOptions;
  a2a?: GatewayA2aOptions;
  auth?: GatewayModuleOptions['auth'];
  cors?: GatewayCorsOptions;
  invokeTimeout?: number;
  streamTimeout?: number;
}

export function resolveGatewayOptions(o: GatewayModuleOptions): ResolvedGatewayOptions {
  return {
    invokeTargets: o.invokeTargets ?? [],
    streamTargets: o.streamTargets ?? [],
    taskTargets: o.taskTargets ?? [],
    publishEvents: o.publishEvents ?? [],
    subscribeEvents: o.subscribeEvents ?? [],
    guards: o.guards ?? [],
    bodyLimit: o.bodyLimit ?? 1024 * 1024,
    heartbeatMs: o.heartbeatMs ?? 15_000,
    retryMs: o.retryMs ?? 1_000,
    streamReplayFrames: o.streamReplayFrames ?? 2_000,
    streamReplayBytes: o.streamReplayBytes ?? 8 * 1024 * 1024,
    streamUnreadBytes: o.streamUnreadBytes ?? 8 * 1024 * 1024,
    maxDetachedStreams: o.maxDetachedStreams ?? 16,
    maxTaskFollowers: o.maxTaskFollowers ?? 32,
    eventReplayEvents: o.eventReplayEvents ?? 500,
    detachGraceMs: o.detachGraceMs ?? 30_000,
    retentionMs: o.retentionMs ?? 60_000,
    allowQueryToken: o.allowQueryToken ?? true,
    peerStreams: o.peerStreams ?? true,
    replicaId: checkReplicaId(o.replicaId ?? randomBytes(4).toString('hex')),
    errorPayloadPaths: checkPathPrefixes(o.errorPayloadPaths ?? []),
    openai: o.openai,
    agentCard: o.agentCard,
    a2a: o.a2a,
    pushNotifications: resolvePushOptions(o.pushNotifications),
    auth: o.auth,
    cors: o.cors,
    invokeTimeout: o.invokeTimeout,
    streamTimeout: o.streamTimeout,
    followHandoffs: o.followHandoffs ?? false,
    resolveTarget: o.resolveTarget,
  };
}

function checkPathPrefixes(prefixes: string[]): string[] {
  for (const p of prefixes) {
    if (typeof p !== 'string' || !p.startsWith('/')) {
      throw new Error(`GatewayModule: errorPayloadPaths holds ${JSON.stringify(p)}; each entry is a path prefix starting with "/"`);
    }
  }
  return prefixes;
}

/** What a gateway replica id may be: it stands in stream ids and in bus target names. */
export const REPLICA_ID = /^[A-Za-z0-9_-]{1,64}$/;

function checkReplicaId(id: string): string {
  if (!REPLICA_ID.test(id)) throw new Error(`gateway replicaId "${id}" must be 1 to 64 letters, digits, "_" or "-"`);
  return id;
}
