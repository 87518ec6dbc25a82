import type { MatrixBridgeConfig } from './matrix-config.js';
import type { MatrixRoomEvent } from './matrix-events.js';
import { seg, type MatrixHttp } from './matrix-http.js';

/** The parts of a `/sync` answer the bridge reads. */
export interface SyncResponse {
  next_batch: string;
  rooms?: {
    join?: Record<string, { timeline?: { events?: MatrixRoomEvent[]; limited?: boolean; prev_batch?: string } }>;
    invite?: Record<string, { invite_state?: { events?: MatrixRoomEvent[] } }>;
  };
}

/** The timeline event types the bridge reads (sync filter and back-fill). */
export const TIMELINE_TYPES = ['m.room.message', 'm.room.redaction', 'm.reaction'];

/** The sync filter: with `sync_filter`, the configured rooms' messages, redactions and reactions; always a bounded timeline. */
export function syncFilterDefinition(cfg: MatrixBridgeConfig, limit: number): Record<string, unknown> {
  if (!cfg.syncFilter) return { room: { timeline: { limit } } };
  return {
    presence: { types: [] },
    account_data: { types: [] },
    room: {
      // With autojoin the bot serves rooms it is invited to later, so the filter cannot list them in advance.
      ...(cfg.autojoin ? {} : { rooms: cfg.roomIds }),
      timeline: { types: TIMELINE_TYPES, limit },
      state: { types: [], lazy_load_members: true },
      ephemeral: { types: [] },
      account_data: { types: [] },
    },
  };
}

/** Stores the sync filter at the homeserver; returns its id. */
export async function createSyncFilter(http: MatrixHttp, cfg: MatrixBridgeConfig): Promise<string> {
  const res = await http.request<{ filter_id: string }>(
    'POST',
    `user/${seg(cfg.userId)}/filter`,
    syncFilterDefinition(cfg, cfg.syncTimelineLimit),
  );
  return res.filter_id;
}

/** The user who invited the bot into a room, from the invite's stripped state. */
export function inviterOf(userId: string, invite: { invite_state?: { events?: MatrixRoomEvent[] } }): string | undefined {
  return (invite.invite_state?.events ?? []).find((e) => e.type === 'm.room.member' && (e as { state_key?: string }).state_key === userId)
    ?.sender;
}

/** An inviter allowed by `autojoin_allow` (empty: anyone): its user id, or `*:<its server>`. */
export function allowedInviter(userId: string, allow: string[]): boolean {
  if (allow.length === 0) return true;
  const server = userId.slice(userId.indexOf(':') + 1);
  return allow.some((a) => a === userId || a === `*:${server}`);
}
