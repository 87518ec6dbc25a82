// The Matrix bridge's pure parts: configuration errors name the key, outbound events resolve their room and
// relations as upstream does, and timeline events are sorted so that edits and notices never pass as messages.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createEvent } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { PermanentBridgeError, type BridgeDefinition } from '@openagentio/nestjs-bridges';
import { parseMatrixConfig } from '@openagentio/nestjs-bridges/internal/matrix/matrix-config.js';
import { BRIDGE_MARKER, bridgeMarker, classifyEvent } from '@openagentio/nestjs-bridges/internal/matrix/matrix-events.js';
import { MatrixRespondLimiter } from '@openagentio/nestjs-bridges/internal/matrix/matrix-respond-limiter.js';
import { readOutbound } from '@openagentio/nestjs-bridges/internal/matrix/matrix-outbound.js';

const base = (config: Record<string, unknown> = {}, mappings?: Record<string, unknown>): BridgeDefinition => ({
  name: 'mx',
  type: 'matrix_event',
  config: { homeserver_url: 'http://127.0.0.1:8008', access_token: 't', user_id: '@bot:hs', room_ids: ['!r:hs'], ...config },
  ...(mappings ? { mappings } : {}),
});

describe('matrix_event configuration', () => {
  it("takes upstream's keys with upstream's defaults", () => {
    const c = parseMatrixConfig(base());
    assert.equal(c.syncTimeoutMs, 30_000);
    assert.equal(c.reconnectDelayMs, 2_000);
    assert.equal(c.initialSyncBehavior, 'skip');
    assert.equal(c.outboundMsgtype, 'm.text');
    assert.equal(c.inboundMessageEvent, 'matrix.message.received');
    assert.equal(c.outboundMessageEvent, 'matrix.message.send');
    assert.equal(c.sessionStrategy, 'room');
    assert.equal(c.cursorStore, 'memory');
    const prefixed = parseMatrixConfig(base({}, { event_prefix: 'chat', session_strategy: 'room_sender' }));
    assert.equal(prefixed.inboundMessageEvent, 'chat.message.received');
    assert.equal(prefixed.sessionStrategy, 'room_sender');
    const sup = parseMatrixConfig(
      base({ supervision: { max_restarts: 2, restart_window_seconds: 10, base_delay_seconds: 1, jitter_enabled: false } }),
    );
    assert.deepEqual(sup.supervision, { maxRestarts: 2, budgetWindowMs: 10_000, initialDelayMs: 1000, jitter: 0 });
  });

  it('every bad value is a PermanentBridgeError naming the key', () => {
    const bad = (def: BridgeDefinition, re: RegExp) =>
      assert.throws(
        () => parseMatrixConfig(def),
        (e: Error) => e instanceof PermanentBridgeError && re.test(e.message),
        String(re),
      );
    bad(base({ homeserver_url: 'ftp://x' }), /config\.homeserver_url must be an http\(s\) URL/);
    bad(base({ user_id: 'bot' }), /config\.user_id must be a Matrix user id/);
    bad(base({ room_ids: [] }), /config\.room_ids is required/);
    bad(base({ room_ids: ['!ok:hs', '#alias:hs'] }), /config\.room_ids\[1\] must be a room id/);
    bad(base({ access_token: '' }), /config\.access_token is required/);
    bad(base({ initial_sync_behavior: 'all' }), /config\.initial_sync_behavior must be one of skip, replay/);
    bad(base({ outbound_msgtype: 'm.emote' }), /config\.outbound_msgtype must be one of m\.text, m\.notice/);
    bad(base({ sync_timeout: -1 }), /config\.sync_timeout must be a positive number/);
    bad(base({ cursor_store: 'file' }), /config\.cursor_path is required/);
    bad(base({ colour: 'blue' }), /unknown config key "colour"/);
    bad(base({}, { session_strategy: 'sender' }), /mappings\.session_strategy must be one of room, room_sender/);
    bad(base({ respond: { target: 'a b' } }), /config\.respond\.target must be a bus target name/);
    bad(base({ respond: { target: 'writer', edit_interval_ms: 10 } }), /config\.respond\.edit_interval_ms must be a number >= 100/);
    bad(base({ supervision: { restarts: 1 } }), /unknown config key "supervision\.restarts"/);
  });
});

describe('matrix.message.send', () => {
  const cfg = parseMatrixConfig(base());
  const out = (payload: unknown, fields: Record<string, unknown> = {}) =>
    readOutbound(createEvent('matrix.message.send', payload, { from: 'agent', ...fields }), cfg);

  it('resolves the room from the payload, then metadata matrix.room_id, then the session (room or room_sender)', async () => {
    assert.equal((await out({ room_id: '!a:hs', text: 'x' })).roomId, '!a:hs');
    assert.equal((await out({ text: 'x' }, { metadata: { 'matrix.room_id': '!b:hs' } })).roomId, '!b:hs');
    assert.equal((await out({ text: 'x' }, { session_id: '!c:hs' })).roomId, '!c:hs');
    const perSender = parseMatrixConfig(base({}, { session_strategy: 'room_sender' }));
    const env = createEvent('matrix.message.send', { text: 'x' }, { from: 'agent', session_id: '!d:hs:@ann:hs' });
    assert.equal((await readOutbound(env, perSender)).roomId, '!d:hs');
  });

  it('bad events are INVALID_REQUEST with a clear message', async () => {
    const bad = async (p: unknown, re: RegExp, fields: Record<string, unknown> = {}) =>
      assert.rejects(
        out(p, fields),
        (e: { code?: string; message: string }) => e.code === 'INVALID_REQUEST' && re.test(e.message),
        String(re),
      );
    await bad('text', /the payload must be an object/);
    await bad({ room_id: '!a:hs' }, /payload\.text is required/);
    await bad({ text: 'x' }, /names no room/);
    await bad({ room_id: '#alias:hs', text: 'x' }, /room_id "#alias:hs" is not a Matrix room id/);
    await bad({ room_id: '!a:hs', text: 'x', reply_to_event_id: 'nope' }, /reply_to_event_id must be a Matrix event id/);
    await bad({ room_id: '!a:hs', text: 'x', msgtype: 'm.image' }, /msgtype must be m\.text or m\.notice/);
  });

  it('a thread without a reply target falls back to the root; Markdown is rendered and sanitised', async () => {
    const t = await out({ room_id: '!a:hs', text: 'x', thread_id: '$root' });
    assert.deepEqual(t.content['m.relates_to'], {
      rel_type: 'm.thread',
      event_id: '$root',
      is_falling_back: true,
      'm.in_reply_to': { event_id: '$root' },
    });
    const md = await readOutbound(
      createEvent(
        'matrix.message.send',
        { room_id: '!a:hs', text: '**bold** <img src="https://evil/x.png" onerror="x()">' },
        { from: 'a' },
      ),
      parseMatrixConfig(base({ outbound_format: 'markdown' })),
    );
    assert.equal(md.content.format, 'org.matrix.custom.html');
    assert.match(String(md.content.formatted_body), /<strong>bold<\/strong>/);
    assert.doesNotMatch(String(md.content.formatted_body), /evil|onerror/);
  });
});

describe('timeline events', () => {
  const ev = (content: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    classifyEvent({ type: 'm.room.message', event_id: '$e', sender: '@ann:hs', content, ...extra } as never, '@bot:hs');

  it('only a human m.text message is a message; edits, notices, emotes, own and malformed events are not', () => {
    assert.equal(ev({ msgtype: 'm.text', body: 'hi' }).kind, 'message');
    assert.equal(ev({ msgtype: 'm.notice', body: 'hi' }).kind, 'ignore');
    assert.equal(ev({ msgtype: 'm.emote', body: 'hi' }).kind, 'ignore');
    assert.equal(ev({ msgtype: 'm.text', body: '' }).kind, 'ignore');
    assert.equal(ev({ msgtype: 'm.text', body: 'hi' }, { sender: '@bot:hs' }).kind, 'ignore');
    const edit = ev({
      msgtype: 'm.text',
      body: '* hi',
      'm.new_content': { msgtype: 'm.text', body: 'hi!' },
      'm.relates_to': { rel_type: 'm.replace', event_id: '$o' },
    });
    assert.deepEqual(edit, { kind: 'edit', replaces: '$o', text: 'hi!', html: undefined });
    assert.equal(
      classifyEvent({ type: 'm.room.redaction', event_id: '$r', sender: '@ann:hs', redacts: '$e' } as never, '@bot:hs').kind,
      'redaction',
    );
    assert.equal(classifyEvent(null as never, '@bot:hs').kind, 'ignore');
  });

  it('mentions of the bot and threads are read', () => {
    const m = ev({
      msgtype: 'm.text',
      body: 'bot: what time is it?',
      'm.relates_to': { rel_type: 'm.thread', event_id: '$t', 'm.in_reply_to': { event_id: '$t' }, is_falling_back: true },
    });
    assert.equal(m.kind === 'message' && m.mentionsBot, true);
    assert.equal(m.kind === 'message' && m.threadId, '$t');
    assert.equal(m.kind === 'message' && m.replyTo, undefined, 'a fallback reply is not a reply');
    assert.equal((ev({ msgtype: 'm.text', body: 'robots are fun' }) as { mentionsBot: boolean }).mentionsBot, false);
  });
});

describe('loops and floods', () => {
  const ev = (content: Record<string, unknown>) =>
    classifyEvent({ type: 'm.room.message', event_id: '$e', sender: '@other-bot:hs', content } as never, '@bot:hs');

  it("a bridge's marker gives the message's turn; a marker without a usable turn counts as turn 1", () => {
    assert.equal((ev({ msgtype: 'm.text', body: 'hi' }) as { bridgeTurn?: number }).bridgeTurn, undefined);
    assert.equal((ev({ msgtype: 'm.text', body: 'hi', ...bridgeMarker('b', 3) }) as { bridgeTurn?: number }).bridgeTurn, 3);
    for (const turn of [0, -1, 'x', null]) {
      const m = ev({ msgtype: 'm.text', body: 'hi', [BRIDGE_MARKER]: { turn } }) as { bridgeTurn?: number };
      assert.equal(m.bridgeTurn, 1, String(turn));
    }
  });

  it('the limiter caps calls in flight and per minute, per room and per sender, with one notice a minute', () => {
    const respond = parseMatrixConfig(
      base({ respond: { target: 't', max_concurrent_per_sender: 2, max_per_minute_per_sender: 3, max_concurrent_per_room: 10 } }),
    ).respond!;
    assert.deepEqual(
      [respond.maxConcurrentPerRoom, respond.maxPerMinutePerRoom, respond.bridgeTurns, respond.overLimit],
      [10, 20, 0, 'notice'],
    );
    const limiter = new MatrixRespondLimiter(respond);
    const t = 1_000_000;
    assert.equal(limiter.admit('!r', '@a', t), 'call');
    assert.equal(limiter.admit('!r', '@a', t), 'call');
    assert.equal(limiter.admit('!r', '@a', t), 'notice', 'two in flight');
    assert.equal(limiter.admit('!r', '@a', t), 'drop', 'one notice a minute');
    assert.equal(limiter.admit('!r', '@b', t), 'call', 'another sender is not held up');
    limiter.release('!r', '@a');
    assert.equal(limiter.admit('!r', '@a', t + 1), 'call');
    limiter.release('!r', '@a');
    limiter.release('!r', '@a');
    assert.equal(limiter.admit('!r', '@a', t + 2), 'drop', 'three this minute');
    assert.equal(limiter.admit('!r', '@a', t + 60_001), 'call', 'a minute later');
    const dropping = new MatrixRespondLimiter({ ...respond, overLimit: 'drop', maxConcurrentPerSender: 1 });
    assert.equal(dropping.admit('!r', '@a', t), 'call');
    assert.equal(dropping.admit('!r', '@a', t), 'drop');
  });

  it('sync bounds and respond limits are read and checked', () => {
    const c = parseMatrixConfig(base({ sync_timeline_limit: 20, max_sync_bytes: 1024 }));
    assert.deepEqual([c.syncTimelineLimit, c.maxSyncBytes], [20, 1024]);
    assert.deepEqual([parseMatrixConfig(base()).syncTimelineLimit, parseMatrixConfig(base()).maxSyncBytes], [50, 16_777_216]);
    assert.throws(() => parseMatrixConfig(base({ max_sync_bytes: 0 })), /config\.max_sync_bytes/);
    assert.throws(() => parseMatrixConfig(base({ respond: { target: 't', over_limit: 'shout' } })), /respond\.over_limit/);
    assert.throws(() => parseMatrixConfig(base({ respond: { target: 't', bridge_turns: -1 } })), /respond\.bridge_turns/);
  });
});
