import { BusError, ErrorCodes, type Envelope } from '@openagentio/nestjs';
import type { MatrixBridgeConfig } from './matrix-config.js';
import { markdownToMatrixHtml, sanitizeMatrixHtml } from './matrix-html.js';

const ROOM_ID = /^![^:\s]+:\S+$/;
const EVENT_ID = /^\$\S+$/;

/** A `matrix.message.send` event read: where it goes and the `m.room.message` content to send. */
export interface OutboundMessage {
  roomId: string;
  content: Record<string, unknown>;
}

function invalid(message: string): BusError {
  return new BusError(ErrorCodes.INVALID_REQUEST, message);
}

/**
 * The room of an outbound event: the payload's `room_id`, else the envelope's `matrix.room_id` metadata, else its
 * session (the room, or `room:sender` with session_strategy room_sender), as upstream resolves it.
 */
export function outboundRoom(payload: Record<string, unknown>, env: Envelope, cfg: MatrixBridgeConfig): string {
  const check = (room: string, from: string): string => {
    if (!ROOM_ID.test(room)) throw invalid(`${from} "${room.slice(0, 80)}" is not a Matrix room id like "!room:example.com"`);
    return room;
  };
  if (typeof payload.room_id === 'string' && payload.room_id) return check(payload.room_id, 'room_id');
  const meta = env.metadata?.['matrix.room_id'];
  if (typeof meta === 'string' && meta) return check(meta, 'metadata matrix.room_id');
  const session = env.session_id;
  if (!session) throw invalid('the event names no room: set payload.room_id, metadata matrix.room_id or the session');
  if (cfg.sessionStrategy === 'room') return check(session, 'session_id');
  // room_sender: "<room id>:<sender>", the sender starting with "@".
  const at = session.lastIndexOf(':@');
  if (at <= 0) throw invalid(`session_id "${session.slice(0, 80)}" is not "<room id>:<user id>" (session_strategy room_sender)`);
  return check(session.slice(0, at), 'session_id');
}

/**
 * Reads `{room_id?, text, html?, reply_to_event_id?, thread_id?, msgtype?}` into message content: `html` (or the
 * text as Markdown with `outbound_format: markdown`) sanitised into `formatted_body`; a reply (`m.in_reply_to`),
 * a thread (`m.thread`, replying to `reply_to_event_id` or falling back to the thread's last event), or both.
 */
export async function readOutbound(env: Envelope, cfg: MatrixBridgeConfig): Promise<OutboundMessage> {
  const p = env.payload;
  if (!p || typeof p !== 'object' || Array.isArray(p)) throw invalid('the payload must be an object with "text"');
  const payload = p as Record<string, unknown>;
  if (typeof payload.text !== 'string' || payload.text === '') throw invalid('payload.text is required and must be a non-empty string');
  const roomId = outboundRoom(payload, env, cfg);
  const msgtype = payload.msgtype ?? cfg.outboundMsgtype;
  if (msgtype !== 'm.text' && msgtype !== 'm.notice') throw invalid('payload.msgtype must be m.text or m.notice');
  const content: Record<string, unknown> = { msgtype, body: payload.text };
  if (payload.html !== undefined && payload.html !== null) {
    if (typeof payload.html !== 'string') throw invalid('payload.html must be a string');
    content.format = 'org.matrix.custom.html';
    content.formatted_body = await sanitizeMatrixHtml(payload.html);
  } else if (cfg.outboundFormat === 'markdown') {
    content.format = 'org.matrix.custom.html';
    content.formatted_body = await markdownToMatrixHtml(payload.text);
  }
  const replyTo = payload.reply_to_event_id ?? env.metadata?.['matrix.reply_to_event_id'];
  const threadId = payload.thread_id ?? env.metadata?.['matrix.thread_id'];
  for (const [k, v] of [
    ['reply_to_event_id', replyTo],
    ['thread_id', threadId],
  ] as const) {
    if (v !== undefined && v !== null && (typeof v !== 'string' || !EVENT_ID.test(v)))
      throw invalid(`${k} must be a Matrix event id like "$abc"`);
  }
  if (typeof threadId === 'string') {
    content['m.relates_to'] = {
      rel_type: 'm.thread',
      event_id: threadId,
      // A thread reply to a given message is a real reply; otherwise clients without threads see a reply to the root.
      is_falling_back: typeof replyTo !== 'string',
      'm.in_reply_to': { event_id: typeof replyTo === 'string' ? replyTo : threadId },
    };
  } else if (typeof replyTo === 'string') {
    content['m.relates_to'] = { 'm.in_reply_to': { event_id: replyTo } };
  }
  return { roomId, content };
}
