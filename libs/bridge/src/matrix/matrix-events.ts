import { eventIdFrom } from '@openagentio/nestjs/internal/protocol/ids.js';
import type { BusClient } from '@openagentio/nestjs';
import type { MatrixBridgeConfig } from './matrix-config.js';

/** A room event as /sync and /messages return it (the fields the bridge reads). */
export interface MatrixRoomEvent {
  type: string;
  event_id: string;
  sender: string;
  origin_server_ts?: number;
  content?: Record<string, unknown>;
  redacts?: string;
  unsigned?: Record<string, unknown>;
}

/**
 * The content field that marks a message as sent by one of our bridges, with its turn in a conversation between
 * bots (a human's message is turn 0, the answer to it turn 1, …). Bridges do not answer marked messages unless
 * `respond.bridge_turns` allows that turn: two bridged bots in a room cannot talk to each other without end.
 */
export const BRIDGE_MARKER = 'io.openagentio.bridge';

/** The marker field of a message sent by bridge `bridge` at `turn`. */
export function bridgeMarker(bridge: string, turn: number): Record<string, unknown> {
  return { [BRIDGE_MARKER]: { bridge, turn } };
}

/** What a room event means to the bridge. */
export type ClassifiedEvent =
  | {
      kind: 'message';
      text: string;
      html?: string;
      msgtype: string;
      threadId?: string;
      replyTo?: string;
      mentionsBot: boolean;
      /** Set when one of our bridges sent it: its turn (at least 1). */
      bridgeTurn?: number;
    }
  | { kind: 'edit'; replaces: string; text: string; html?: string }
  | { kind: 'redaction'; redacts: string }
  | { kind: 'reaction'; relatesTo: string; key: string }
  | { kind: 'ignore'; why: string };

const HTML = 'org.matrix.custom.html';

/**
 * Sorts a timeline event: a human's text message (the only kind published as a new message), an edit
 * (`m.replace`), a redaction, a reaction, or something to ignore (the bot's own events, notices, emotes, media,
 * state). Edits are told apart before anything else, so an edit is never taken for a new message.
 */
export function classifyEvent(ev: MatrixRoomEvent, botUserId: string): ClassifiedEvent {
  if (!ev || typeof ev !== 'object' || typeof ev.event_id !== 'string' || typeof ev.sender !== 'string') {
    return { kind: 'ignore', why: 'malformed' };
  }
  if (ev.sender === botUserId) return { kind: 'ignore', why: 'own event' };
  const content = (ev.content && typeof ev.content === 'object' ? ev.content : {}) as Record<string, unknown>;
  const rel = (content['m.relates_to'] && typeof content['m.relates_to'] === 'object' ? content['m.relates_to'] : {}) as Record<
    string,
    unknown
  >;
  switch (ev.type) {
    case 'm.room.redaction': {
      const redacts = typeof ev.redacts === 'string' ? ev.redacts : typeof content.redacts === 'string' ? content.redacts : undefined;
      return redacts ? { kind: 'redaction', redacts } : { kind: 'ignore', why: 'redaction without target' };
    }
    case 'm.reaction':
      return rel.rel_type === 'm.annotation' && typeof rel.event_id === 'string' && typeof rel.key === 'string'
        ? { kind: 'reaction', relatesTo: rel.event_id, key: rel.key }
        : { kind: 'ignore', why: 'malformed reaction' };
    case 'm.room.message':
      break;
    default:
      return { kind: 'ignore', why: `event type ${ev.type}` };
  }
  if (rel.rel_type === 'm.replace' && typeof rel.event_id === 'string') {
    const next = (content['m.new_content'] && typeof content['m.new_content'] === 'object' ? content['m.new_content'] : content) as Record<
      string,
      unknown
    >;
    if (typeof next.body !== 'string') return { kind: 'ignore', why: 'edit without text' };
    return { kind: 'edit', replaces: rel.event_id, text: next.body, html: htmlOf(next) };
  }
  if (content.msgtype !== 'm.text') return { kind: 'ignore', why: `msgtype ${String(content.msgtype)}` };
  if (typeof content.body !== 'string' || content.body === '') return { kind: 'ignore', why: 'empty body' };
  const inReplyTo = (rel['m.in_reply_to'] as { event_id?: unknown } | undefined)?.event_id;
  const mentions = content['m.mentions'] as { user_ids?: unknown } | undefined;
  const localpart = botUserId.slice(1, botUserId.indexOf(':'));
  const mentionsBot =
    (Array.isArray(mentions?.user_ids) && mentions.user_ids.includes(botUserId)) ||
    content.body.includes(botUserId) ||
    new RegExp(`(^|\\W)@?${escapeRegExp(localpart)}\\b`, 'i').test(content.body);
  return {
    kind: 'message',
    text: content.body,
    html: htmlOf(content),
    msgtype: 'm.text',
    threadId: rel.rel_type === 'm.thread' && typeof rel.event_id === 'string' ? rel.event_id : undefined,
    replyTo: typeof inReplyTo === 'string' && !rel.is_falling_back ? inReplyTo : undefined,
    mentionsBot,
    bridgeTurn: bridgeTurnOf(content),
  };
}

/** The turn a bridge marker carries; a marker without a usable turn counts as turn 1 (it cannot claim to be human). */
function bridgeTurnOf(content: Record<string, unknown>): number | undefined {
  const marker = content[BRIDGE_MARKER];
  if (marker === undefined) return undefined;
  const turn = (marker as { turn?: unknown } | null)?.turn;
  return typeof turn === 'number' && Number.isInteger(turn) && turn >= 1 ? turn : 1;
}

function htmlOf(content: Record<string, unknown>): string | undefined {
  return content.format === HTML && typeof content.formatted_body === 'string' ? content.formatted_body : undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A W3C traceparent an outside client put in the message (upstream's convention: top level of content or unsigned). */
export function traceparentOf(ev: MatrixRoomEvent): string | undefined {
  const v = ev.content?.traceparent ?? ev.unsigned?.traceparent;
  return typeof v === 'string' && /^[\da-f]{2}-[\da-f]{32}-[\da-f]{16}-[\da-f]{2}$/.test(v) ? v : undefined;
}

/** A bounded set of recently seen event ids: duplicates across overlapping batches and backfill are dropped. */
export class SeenEvents {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 10_000) {}

  /** True the first time an id is offered. */
  add(id: string): boolean {
    if (this.ids.has(id)) return false;
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
    return true;
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }
}

/**
 * The bus's publish for one room event: as it is, or under `durable_events` a durable publish whose event_id is a
 * UUID made from the room and the Matrix event id, so the same room event published twice (a restart that syncs
 * it again) is stored once in the durable log.
 */
export function durablePublisher(
  bus: BusClient,
  cfg: MatrixBridgeConfig,
  roomId: string,
  matrixEventId: string,
): Pick<BusClient, 'publish'> {
  if (!cfg.durableEvents) return bus;
  const eventId = eventIdFrom(roomId, matrixEventId);
  return { publish: (type, payload, options = {}) => bus.publish(type, payload, { ...options, durable: true, event_id: eventId }) };
}
