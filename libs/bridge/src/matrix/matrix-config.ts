import { PermanentBridgeError, type BridgeDefinition } from '../interfaces/bridge.interface.js';
import type { SupervisionOptions } from '../supervision/bridge-supervisor.js';

/** The bridge type in `openagentio.bridge/v1` documents, as upstream names it. */
export const MATRIX_EVENT_BRIDGE_TYPE = 'matrix_event';

/** Where the sync cursor survives a restart. */
export type MatrixCursorStoreKind = 'memory' | 'file' | 'nats_kv';

/** Agents answering in rooms: which messages trigger a call, and how a streamed answer is rendered. */
export interface MatrixRespondConfig {
  /** The bus target called with `{text, room_id, sender, event_id, …}` under the room's session. */
  target: string;
  /** `stream` (default): deltas rendered as one message edited in place; `invoke`: one message with the result. */
  mode: 'stream' | 'invoke';
  /** Which room messages call the target: those mentioning the bot (default), starting with `prefix`, or all. */
  trigger: 'mention' | 'prefix' | 'all';
  /** For `trigger: prefix` (default `!ask`); stripped from the text sent to the target. */
  prefix: string;
  /** Least time between two edits of the answer (ms). Default 1000. */
  editIntervalMs: number;
  /** Edits per message before the answer continues in a new message in the thread. Default 20. */
  maxEdits: number;
  /** Longest answer one message holds before it continues in the next (characters). Default 16000. */
  maxMessageChars: number;
  /** Send a typing notice while waiting for the first text. Default true. */
  typing: boolean;
  /** A reaction to the triggering message that cancels the call, besides redacting it. Default `🛑`. */
  cancelReaction?: string;
  /** The call's timeout (ms). Default 120000. */
  timeoutMs: number;
  /**
   * Turns of a conversation between bridged bots: a message another of our bridges sent (it carries the
   * `io.openagentio.bridge` marker with its turn) is answered only while its turn is below this. Default 0: never.
   */
  bridgeTurns: number;
  /** Agent calls in flight for one room, and for one sender; a message past either is over the limit. Defaults 4 and 2. */
  maxConcurrentPerRoom: number;
  maxConcurrentPerSender: number;
  /** Agent calls started in the last minute for one room, and for one sender. Defaults 20 and 6. */
  maxPerMinutePerRoom: number;
  maxPerMinutePerSender: number;
  /** A message over a limit: `notice` (default) answers the sender once a minute that the bot is busy; `drop` is silent. */
  overLimit: 'notice' | 'drop';
}

export interface MatrixBridgeConfig {
  homeserverUrl: string;
  accessToken: string;
  userId: string;
  roomIds: string[];
  /** Long-poll timeout of one /sync (ms). */
  syncTimeoutMs: number;
  /** First delay before retrying a failed sync (ms); doubles up to 60 s. */
  reconnectDelayMs: number;
  initialSyncBehavior: 'skip' | 'replay';
  outboundMsgtype: 'm.text' | 'm.notice';
  /** Render outbound `text` as Markdown into formatted_body when no `html` is given. */
  outboundFormat: 'plain' | 'markdown';
  eventPrefix: string;
  inboundMessageEvent: string;
  outboundMessageEvent: string;
  /** Edits and redactions, published as their own event types (never as new messages). */
  editedEvent: string;
  redactedEvent: string;
  publishEdits: boolean;
  publishRedactions: boolean;
  /**
   * Publish room events as durable events (docs/events.md): stored in the bus's durable log, the publish awaited,
   * the envelope's event_id derived from the Matrix event id so a room event synced twice is stored once.
   */
  durableEvents: boolean;
  sessionStrategy: 'room' | 'room_sender';
  cursorStore: MatrixCursorStoreKind;
  cursorPath?: string;
  cursorBucket: string;
  /** Join rooms the bot is invited to; with `autojoinAllow`, only invitations from those users or servers. */
  autojoin: boolean;
  autojoinAllow: string[];
  /** Ask the homeserver for the configured rooms' messages, redactions and reactions only. */
  syncFilter: boolean;
  /** Events of one room's timeline per sync (the sync filter's `timeline.limit`); more are back-filled in pages. */
  syncTimelineLimit: number;
  /** Bytes of one /sync answer read; a larger answer is a failed sync (retried, degraded). */
  maxSyncBytes: number;
  respond?: MatrixRespondConfig;
  supervision?: SupervisionOptions;
}

const CONFIG_KEYS = new Set([
  // upstream's
  'homeserver_url',
  'access_token',
  'user_id',
  'room_ids',
  'sync_timeout',
  'reconnect_delay',
  'initial_sync_behavior',
  'outbound_msgtype',
  'supervision',
  // ours
  'outbound_format',
  'cursor_store',
  'cursor_path',
  'cursor_bucket',
  'autojoin',
  'autojoin_allow',
  'sync_filter',
  'sync_timeline_limit',
  'max_sync_bytes',
  'publish_edits',
  'publish_redactions',
  'durable_events',
  'respond',
]);

const RESPOND_KEYS = new Set([
  'target',
  'mode',
  'trigger',
  'prefix',
  'edit_interval_ms',
  'max_edits',
  'max_message_chars',
  'typing',
  'cancel_reaction',
  'timeout_ms',
  'bridge_turns',
  'max_concurrent_per_room',
  'max_concurrent_per_sender',
  'max_per_minute_per_room',
  'max_per_minute_per_sender',
  'over_limit',
]);

const TARGET = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/;

/**
 * Reads a `matrix_event` definition: upstream's config and mapping keys with upstream's defaults, and ours. Every
 * problem is a PermanentBridgeError naming the key (`bridge "m" (matrix_event): config.room_ids[1] must be …`).
 */
export function parseMatrixConfig(def: BridgeDefinition): MatrixBridgeConfig {
  const fail = (msg: string): never => {
    throw new PermanentBridgeError(`bridge "${def.name}" (${MATRIX_EVENT_BRIDGE_TYPE}): ${msg}`);
  };
  const c = def.config ?? {};
  for (const k of Object.keys(c)) if (!CONFIG_KEYS.has(k)) fail(`unknown config key "${k}" (known: ${[...CONFIG_KEYS].join(', ')})`);
  const m = def.mappings ?? {};

  const str = (src: Record<string, unknown>, where: string, key: string, dflt?: string): string => {
    const v = src[key];
    if (v === undefined || v === null || (typeof v === 'string' && v.trim() === '')) {
      if (dflt !== undefined) return dflt;
      return fail(`${where}.${key} is required and must be a non-empty string`);
    }
    if (typeof v !== 'string') return fail(`${where}.${key} must be a string`);
    return v.trim();
  };
  const oneOf = <T extends string>(src: Record<string, unknown>, where: string, key: string, allowed: readonly T[], dflt: T): T => {
    const v = str(src, where, key, dflt);
    if (!(allowed as readonly string[]).includes(v)) fail(`${where}.${key} must be one of ${allowed.join(', ')}, not "${v}"`);
    return v as T;
  };
  const positive = (src: Record<string, unknown>, where: string, key: string, dflt: number): number => {
    const v = src[key];
    if (v === undefined || v === null || v === '') return dflt;
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0) fail(`${where}.${key} must be a positive number`);
    return n as number;
  };
  const bool = (src: Record<string, unknown>, where: string, key: string, dflt: boolean): boolean => {
    const v = src[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
    return fail(`${where}.${key} must be true or false`);
  };

  const homeserverUrl = str(c, 'config', 'homeserver_url');
  try {
    const u = new URL(homeserverUrl);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
  } catch {
    fail(`config.homeserver_url must be an http(s) URL, not "${homeserverUrl}"`);
  }
  const userId = str(c, 'config', 'user_id');
  if (!/^@[^:\s]+:\S+$/.test(userId)) fail(`config.user_id must be a Matrix user id like "@bot:example.com", not "${userId}"`);
  if (!Array.isArray(c.room_ids) || c.room_ids.length === 0) fail('config.room_ids is required: a list of room ids');
  const roomIds = (c.room_ids as unknown[]).map((r, i) => {
    if (typeof r !== 'string' || !/^![^:\s]+:\S+$/.test(r.trim())) fail(`config.room_ids[${i}] must be a room id like "!room:example.com"`);
    return (r as string).trim();
  });

  const eventPrefix = str(m, 'mappings', 'event_prefix', 'matrix');
  const events = {
    inbound: str(m, 'mappings', 'inbound_message_event', `${eventPrefix}.message.received`),
    outbound: str(m, 'mappings', 'outbound_message_event', `${eventPrefix}.message.send`),
  };
  for (const [k, v] of Object.entries(events)) if (!TARGET.test(v)) fail(`mappings: the ${k} event type "${v}" is not a valid event name`);

  const cursorStore = oneOf(c, 'config', 'cursor_store', ['memory', 'file', 'nats_kv'] as const, 'memory');
  const cursorPath = cursorStore === 'file' ? str(c, 'config', 'cursor_path') : undefined;

  let autojoinAllow: string[] = [];
  if (c.autojoin_allow !== undefined && c.autojoin_allow !== null) {
    if (!Array.isArray(c.autojoin_allow) || c.autojoin_allow.some((x) => typeof x !== 'string' || !x)) {
      fail('config.autojoin_allow must be a list of user ids ("@ann:example.com") or servers ("*:example.com")');
    }
    autojoinAllow = c.autojoin_allow as string[];
  }

  return {
    homeserverUrl: homeserverUrl.replace(/\/+$/, ''),
    accessToken: str(c, 'config', 'access_token'),
    userId,
    roomIds,
    syncTimeoutMs: positive(c, 'config', 'sync_timeout', 30) * 1000,
    reconnectDelayMs: positive(c, 'config', 'reconnect_delay', 2) * 1000,
    initialSyncBehavior: oneOf(c, 'config', 'initial_sync_behavior', ['skip', 'replay'] as const, 'skip'),
    outboundMsgtype: oneOf(c, 'config', 'outbound_msgtype', ['m.text', 'm.notice'] as const, 'm.text'),
    outboundFormat: oneOf(c, 'config', 'outbound_format', ['plain', 'markdown'] as const, 'plain'),
    eventPrefix,
    inboundMessageEvent: events.inbound,
    outboundMessageEvent: events.outbound,
    editedEvent: `${eventPrefix}.message.edited`,
    redactedEvent: `${eventPrefix}.message.redacted`,
    publishEdits: bool(c, 'config', 'publish_edits', true),
    publishRedactions: bool(c, 'config', 'publish_redactions', true),
    durableEvents: bool(c, 'config', 'durable_events', false),
    sessionStrategy: oneOf(m, 'mappings', 'session_strategy', ['room', 'room_sender'] as const, 'room'),
    cursorStore,
    cursorPath,
    cursorBucket: str(c, 'config', 'cursor_bucket', 'openagentio_matrix'),
    autojoin: bool(c, 'config', 'autojoin', false),
    autojoinAllow,
    syncFilter: bool(c, 'config', 'sync_filter', true),
    syncTimelineLimit: Math.floor(positive(c, 'config', 'sync_timeline_limit', 50)),
    maxSyncBytes: Math.floor(positive(c, 'config', 'max_sync_bytes', 16_777_216)),
    respond: c.respond === undefined || c.respond === null ? undefined : parseRespond(c.respond, fail),
    supervision: parseSupervision(c.supervision, fail),
  };
}

function parseRespond(raw: unknown, fail: (msg: string) => never): MatrixRespondConfig {
  if (typeof raw === 'string') raw = { target: raw };
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return fail('config.respond must be a mapping (or a target name)');
  const r = raw as Record<string, unknown>;
  for (const k of Object.keys(r))
    if (!RESPOND_KEYS.has(k)) fail(`unknown config key "respond.${k}" (known: ${[...RESPOND_KEYS].join(', ')})`);
  const target = r.target;
  if (typeof target !== 'string' || !TARGET.test(target)) fail('config.respond.target must be a bus target name');
  const pick = <T extends string>(key: string, allowed: readonly T[], dflt: T): T => {
    const v = r[key] ?? dflt;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v))
      fail(`config.respond.${key} must be one of ${allowed.join(', ')}`);
    return v as T;
  };
  const num = (key: string, dflt: number, min: number): number => {
    const v = r[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) fail(`config.respond.${key} must be a number >= ${min}`);
    return v as number;
  };
  const prefix = r.prefix ?? '!ask';
  if (typeof prefix !== 'string' || !prefix.trim()) fail('config.respond.prefix must be a non-empty string');
  const cancelReaction = r.cancel_reaction === undefined ? '🛑' : r.cancel_reaction;
  if (cancelReaction !== null && cancelReaction !== false && typeof cancelReaction !== 'string') {
    fail('config.respond.cancel_reaction must be a reaction key (or null for none)');
  }
  return {
    target: target as string,
    mode: pick('mode', ['stream', 'invoke'] as const, 'stream'),
    trigger: pick('trigger', ['mention', 'prefix', 'all'] as const, 'mention'),
    prefix: (prefix as string).trim(),
    editIntervalMs: num('edit_interval_ms', 1000, 100),
    maxEdits: num('max_edits', 20, 1),
    maxMessageChars: num('max_message_chars', 16_000, 100),
    typing: r.typing === undefined ? true : r.typing === true,
    cancelReaction: typeof cancelReaction === 'string' ? cancelReaction : undefined,
    timeoutMs: num('timeout_ms', 120_000, 100),
    bridgeTurns: num('bridge_turns', 0, 0),
    maxConcurrentPerRoom: num('max_concurrent_per_room', 4, 1),
    maxConcurrentPerSender: num('max_concurrent_per_sender', 2, 1),
    maxPerMinutePerRoom: num('max_per_minute_per_room', 20, 1),
    maxPerMinutePerSender: num('max_per_minute_per_sender', 6, 1),
    overLimit: pick('over_limit', ['notice', 'drop'] as const, 'notice'),
  };
}

/** Upstream's supervision block (seconds) as our supervision options. */
function parseSupervision(raw: unknown, fail: (msg: string) => never): SupervisionOptions | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) return fail('config.supervision must be a mapping');
  const s = raw as Record<string, unknown>;
  const known = [
    'max_restarts',
    'restart_window_seconds',
    'base_delay_seconds',
    'max_delay_seconds',
    'jitter_enabled',
    'health_failure_threshold',
  ];
  for (const k of Object.keys(s)) if (!known.includes(k)) fail(`unknown config key "supervision.${k}" (known: ${known.join(', ')})`);
  const num = (k: string): number | undefined => {
    const v = s[k];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(`config.supervision.${k} must be a non-negative number`);
    return v as number;
  };
  const out: SupervisionOptions = {};
  const max = num('max_restarts');
  if (max !== undefined) out.maxRestarts = max;
  const windowS = num('restart_window_seconds');
  if (windowS !== undefined) out.budgetWindowMs = windowS * 1000;
  const base = num('base_delay_seconds');
  if (base !== undefined) out.initialDelayMs = base * 1000;
  const maxDelay = num('max_delay_seconds');
  if (maxDelay !== undefined) out.maxDelayMs = maxDelay * 1000;
  if (s.jitter_enabled === false) out.jitter = 0;
  // health_failure_threshold: upstream counts failed syncs before "unhealthy"; here a failing sync is "degraded"
  // at once and the bridge keeps retrying, so the key is accepted and has no effect.
  num('health_failure_threshold');
  return out;
}
