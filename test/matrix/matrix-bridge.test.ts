// The Matrix bridge against a real Synapse homeserver (test/support/synapse.ts); the human side is matrix-js-sdk.
// Each test has its own room and its own bot account, so bridges never see each other's rooms.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { connect, createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Test } from '@nestjs/testing';
import type { INestApplication } from '@nestjs/common';
import * as sdk from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import { BusClient, NatsTransport, type HandlerContext, type StreamWriter } from '@openagentio/nestjs';
import { createEvent } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { BridgeHealthService, BridgeModule, MatrixEventBridge } from '@openagentio/nestjs-bridges';
import { BridgeSupervisor } from '@openagentio/nestjs-bridges/internal/supervision/bridge-supervisor.js';
import { buildBridges } from '@openagentio/nestjs-bridges/internal/bridge-manager.js';
import { quietLogger, testBusModule, until } from '../bridge/helpers.js';
import { NatsServer } from '../support/nats-server.js';
import { startMatrixTestbed, type MatrixTestbed } from '../support/matrix-testbed.js';
import type { SynapseServer, SynapseUser } from '../support/synapse.js';

sdkLogger.setLevel('warn');

let bed: MatrixTestbed;
let synapse: SynapseServer;
let alice: SynapseUser;
let bridgeBus: BusClient;
let agentBus: BusClient;

async function say(user: SynapseUser, roomId: string, content: Record<string, unknown>): Promise<string> {
  const res = await bed.client(user).sendEvent(roomId, 'm.room.message' as never, content as never);
  return res.event_id;
}

/** The room's latest events as alice's client reads them (oldest first). */
async function timeline(
  roomId: string,
  limit = 100,
): Promise<Array<{ event_id: string; sender: string; type: string; content: Record<string, any> }>> {
  const page = await bed.client(alice).createMessagesRequest(roomId, null, limit, sdk.Direction.Backward);
  return (page.chunk as any[]).reverse();
}

/** What alice's client shows for a message: its text after the latest edit, and how many edits it had. */
async function shownText(roomId: string, eventId: string): Promise<{ text: string; edits: number }> {
  const original = await bed.client(alice).fetchRoomEvent(roomId, eventId);
  const rel = await bed.client(alice).fetchRelations(roomId, eventId, sdk.RelationType.Replace, sdk.EventType.RoomMessage, {
    dir: sdk.Direction.Backward,
    limit: 200,
  });
  const edits = rel.chunk as any[];
  const latest = edits.sort((a, b) => b.origin_server_ts - a.origin_server_ts)[0];
  return { text: latest ? latest.content['m.new_content'].body : (original.content as any).body, edits: edits.length };
}

before(async () => {
  bed = await startMatrixTestbed('matrix-bridge');
  ({ synapse, alice, bridgeBus, agentBus } = bed);
});

after(async () => {
  await bed?.close();
});

describe('Matrix bridge (matrix_event) against Synapse', () => {
  it('1. upstream matrix_bridge.yaml (mappings as a map) loads through BridgeModule; "hello" is one envelope; own messages, notices and edits are none', async () => {
    const { bot, roomId } = await bed.newRoom();
    // Upstream's example document, as upstream writes it (only the values come from the environment).
    const yaml = `version: "openagentio.bridge/v1"
bridges:
  - name: "matrix-main"
    type: "matrix_event"
    config:
      homeserver_url: "\${HS_URL}"
      access_token: "\${BOT_TOKEN}"
      user_id: "\${BOT_ID}"
      room_ids:
        - "\${ROOM_ID}"
      sync_timeout: 30
      reconnect_delay: 2
      initial_sync_behavior: "skip"
      outbound_msgtype: "m.text"
    mappings:
      event_prefix: "matrix"
      inbound_message_event: "matrix.message.received"
      outbound_message_event: "matrix.message.send"
      session_strategy: "room"
`;
    const mod = await Test.createTestingModule({
      imports: [
        testBusModule(bridgeBus),
        BridgeModule.forRoot({
          config: { text: yaml },
          env: { HS_URL: synapse.baseUrl, BOT_TOKEN: bot.accessToken, BOT_ID: bot.userId, ROOM_ID: roomId },
        }),
      ],
    }).compile();
    const app: INestApplication = mod.createNestApplication({ logger: false });
    await app.init();
    try {
      const health = app.get(BridgeHealthService);
      assert.equal(health.get('matrix-main')?.status, 'healthy');
      await until(() => health.get('matrix-main')?.details?.cursor_age_ms !== null, 10_000, 'first sync');
      const received = bed.collect('matrix.message.received');
      const edited = bed.collect('matrix.message.edited');
      const helloId = await say(alice, roomId, { msgtype: 'm.text', body: 'hello' });
      await until(() => received.events.length === 1, 10_000, 'hello published');
      const env1 = received.events[0];
      assert.deepEqual(Object.keys(env1.payload as object).sort(), [
        'event_id',
        'html',
        'msgtype',
        'origin_server_ts',
        'room_id',
        'sender',
        'text',
      ]);
      assert.deepEqual(
        { ...(env1.payload as object), origin_server_ts: 0 },
        {
          text: 'hello',
          html: null,
          room_id: roomId,
          sender: alice.userId,
          event_id: helloId,
          origin_server_ts: 0,
          msgtype: 'm.text',
        },
      );
      assert.equal(typeof (env1.payload as { origin_server_ts: unknown }).origin_server_ts, 'number');
      assert.equal(env1.session_id, roomId);
      assert.equal(env1.conversation_id, roomId);
      assert.equal(env1.correlation_id, helloId);
      assert.equal(env1.metadata?.['matrix.event_id'], helloId);
      // None of these is a new message: the bot's own, a notice, an edit of "hello".
      await say(bot, roomId, { msgtype: 'm.text', body: 'I am the bot' });
      await say(alice, roomId, { msgtype: 'm.notice', body: 'a notice' });
      await say(alice, roomId, {
        msgtype: 'm.text',
        body: '* hello again',
        'm.new_content': { msgtype: 'm.text', body: 'hello again' },
        'm.relates_to': { rel_type: 'm.replace', event_id: helloId },
      });
      await say(alice, roomId, { msgtype: 'm.text', body: 'marker' });
      await until(() => received.events.length === 2, 10_000, 'marker published');
      assert.deepEqual(
        received.events.map((e) => (e.payload as { text: string }).text),
        ['hello', 'marker'],
      );
      // The edit is published as what it is.
      await until(() => edited.events.length === 1, 5_000, 'edit published');
      assert.deepEqual(
        { text: (edited.events[0].payload as any).text, replaces: (edited.events[0].payload as any).replaces_event_id },
        { text: 'hello again', replaces: helloId },
      );
      received.stop();
      edited.stop();
    } finally {
      await app.close();
    }
  });

  it('2. matrix.message.send: replies and threads become the right m.relates_to, HTML is sanitised, a bad event posts nothing', async () => {
    const { bot, roomId } = await bed.newRoom();
    const { bridge, supervisor } = await bed.startBridge(bed.definition('m2', bot, roomId));
    try {
      const rootId = await say(alice, roomId, { msgtype: 'm.text', body: 'root' });
      const otherId = await say(alice, roomId, { msgtype: 'm.text', body: 'other' });
      await agentBus.publish('matrix.message.send', { room_id: roomId, text: 'in thread', thread_id: rootId, reply_to_event_id: otherId });
      await agentBus.publish(
        'matrix.message.send',
        { text: 'plain reply', reply_to_event_id: rootId, html: '<b>bold</b><script>alert(1)</script>' },
        { session_id: roomId },
      );
      await agentBus.publish('matrix.message.send', { room_id: roomId }); // no text
      await until(() => bridge.stats.outboundSent === 2 && bridge.stats.outboundFailed === 1, 10_000, 'sends');
      const mine = (await timeline(roomId)).filter((e) => e.sender === bot.userId && e.type === 'm.room.message');
      assert.deepEqual(
        mine.map((e) => e.content.body),
        ['in thread', 'plain reply'],
      );
      assert.deepEqual(mine[0].content['m.relates_to'], {
        rel_type: 'm.thread',
        event_id: rootId,
        is_falling_back: false,
        'm.in_reply_to': { event_id: otherId },
      });
      assert.deepEqual(mine[1].content['m.relates_to'], { 'm.in_reply_to': { event_id: rootId } });
      assert.equal(mine[1].content.format, 'org.matrix.custom.html');
      assert.equal(mine[1].content.formatted_body, '<b>bold</b>');
    } finally {
      await supervisor.stop();
    }
  });

  it('3. a stream of 300 deltas over about 6 s is one message plus at most 8 edits; the final text equals stream.text()', async () => {
    const { bot, roomId } = await bed.newRoom();
    const writer = agentBus.handleStream('writer3', async (_p: unknown, ctx: HandlerContext & { writer: StreamWriter }) => {
      for (let i = 0; i < 300; i++) {
        await ctx.writer.delta(`w${i} `);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    await writer.ready;
    const { bridge, supervisor } = await bed.startBridge(
      bed.definition('m3', bot, roomId, {
        respond: { target: 'writer3', trigger: 'prefix', prefix: '!ask', edit_interval_ms: 1000, max_edits: 20 },
      }),
    );
    try {
      const expected = agentBus.stream('writer3', {}).text();
      const askId = await say(alice, roomId, { msgtype: 'm.text', body: '!ask write something' });
      await until(() => bridge.answerStats.answers === 1 && bridge.describe().answering === 0, 30_000, 'answer finished');
      const answers = (await timeline(roomId)).filter(
        (e) => e.sender === bot.userId && e.type === 'm.room.message' && !e.content['m.relates_to']?.rel_type,
      );
      assert.equal(answers.length, 1, 'one message');
      assert.deepEqual(answers[0].content['m.relates_to'], { 'm.in_reply_to': { event_id: askId } });
      const shown = await shownText(roomId, answers[0].event_id);
      assert.equal(shown.text, await expected, 'byte for byte');
      // About 6 s at one edit per second at most, plus the final one.
      assert.ok(shown.edits >= 1 && shown.edits <= 8, `${shown.edits} edits`);
      assert.equal(bridge.answerStats.edits, shown.edits);
    } finally {
      writer.unsubscribe();
      await supervisor.stop();
    }
  });

  it('3b. past max_edits the answer continues in a new message in the thread; the messages together hold the exact text', async () => {
    const { bot, roomId } = await bed.newRoom();
    const writer = agentBus.handleStream('writer3b', async (_p: unknown, ctx: HandlerContext & { writer: StreamWriter }) => {
      for (let i = 0; i < 60; i++) {
        await ctx.writer.delta(`c${i} `);
        await new Promise((r) => setTimeout(r, 25));
      }
    });
    await writer.ready;
    const { bridge, supervisor } = await bed.startBridge(
      bed.definition('m3b', bot, roomId, { respond: { target: 'writer3b', trigger: 'all', edit_interval_ms: 100, max_edits: 3 } }),
    );
    try {
      const expected = agentBus.stream('writer3b', {}).text();
      const askId = await say(alice, roomId, { msgtype: 'm.text', body: 'long answer please' });
      await until(() => bridge.answerStats.answers === 1 && bridge.describe().answering === 0, 30_000, 'answer finished');
      const parts = (await timeline(roomId)).filter(
        (e) => e.sender === bot.userId && e.type === 'm.room.message' && e.content['m.relates_to']?.rel_type !== 'm.replace',
      );
      assert.ok(parts.length >= 2, `${parts.length} messages`);
      assert.deepEqual(parts[0].content['m.relates_to'], { 'm.in_reply_to': { event_id: askId } });
      for (const p of parts.slice(1)) {
        assert.equal(p.content['m.relates_to'].rel_type, 'm.thread');
        assert.equal(p.content['m.relates_to'].event_id, askId);
      }
      let whole = '';
      for (const p of parts) {
        const shown = await shownText(roomId, p.event_id);
        assert.ok(shown.edits <= 3, `${shown.edits} edits on one message`);
        whole += shown.text;
      }
      assert.equal(whole, await expected);
    } finally {
      writer.unsubscribe();
      await supervisor.stop();
    }
  });

  it('4. with the bot rate limited to 1 message/s, the final text still arrives and no send is lost', async () => {
    const { bot, roomId } = await bed.newRoom();
    await synapse.overrideRateLimit(bot.userId, 1, 1);
    const writer = agentBus.handleStream('writer4', async (_p: unknown, ctx: HandlerContext & { writer: StreamWriter }) => {
      for (let i = 0; i < 100; i++) {
        await ctx.writer.delta(`r${i} `);
        await new Promise((r) => setTimeout(r, 20));
      }
    });
    await writer.ready;
    const { bridge, supervisor } = await bed.startBridge(
      bed.definition('m4', bot, roomId, { respond: { target: 'writer4', trigger: 'all', edit_interval_ms: 100, max_edits: 50 } }),
    );
    try {
      const expected = agentBus.stream('writer4', {}).text();
      await say(alice, roomId, { msgtype: 'm.text', body: 'go' });
      await until(() => bridge.answerStats.answers === 1 && bridge.describe().answering === 0, 60_000, 'answer finished');
      const sends = bridge.describe().sends as { sent: number; rateLimited: number };
      assert.ok(sends.rateLimited > 0, 'the homeserver did rate limit the bot');
      const answers = (await timeline(roomId)).filter(
        (e) => e.sender === bot.userId && e.type === 'm.room.message' && !e.content['m.relates_to']?.rel_type,
      );
      assert.equal(answers.length, 1);
      const shown = await shownText(roomId, answers[0].event_id);
      assert.equal(shown.text, await expected);
      assert.equal(shown.edits + 1, sends.sent, 'every send the bridge counted is in the room');
    } finally {
      writer.unsubscribe();
      await synapse.resetRateLimit(bot.userId);
      await supervisor.stop();
    }
  });

  it('5. stopped, 3 messages posted, restarted: each published once, in order; a repeated send posts once', async () => {
    const { bot, roomId } = await bed.newRoom();
    const def = bed.definition('m5', bot, roomId, { cursor_store: 'file', cursor_path: join(bed.tmp, 'm5-cursor.json') });
    const first = await bed.startBridge(def);
    await first.supervisor.stop();
    const received = bed.collect('matrix.message.received');
    for (const body of ['one', 'two', 'three']) await say(alice, roomId, { msgtype: 'm.text', body });
    // Another instance (another name: not this process's memory) finds the cursor in the file.
    const second = await bed.startBridge({ ...def, name: 'm5-restarted' });
    try {
      await until(() => received.events.length >= 3, 10_000, 'three published');
      await say(alice, roomId, { msgtype: 'm.text', body: 'four' });
      await until(() => received.events.length >= 4, 10_000, 'four published');
      assert.deepEqual(
        received.events.map((e) => (e.payload as { text: string }).text),
        ['one', 'two', 'three', 'four'],
      );
      // The same envelope delivered twice (a retry after a lost answer, a redelivery): one message in the room.
      const send = createEvent('matrix.message.send', { room_id: roomId, text: 'exactly once' }, { from: 'agent' });
      agentBus.transport.publish(agentBus.subjects.event('matrix.message.send'), send);
      await until(() => second.bridge.stats.outboundSent === 1, 10_000, 'first send');
      agentBus.transport.publish(agentBus.subjects.event('matrix.message.send'), send);
      await until(() => second.bridge.stats.outboundSent === 2, 10_000, 'second send');
      const posted = (await timeline(roomId)).filter((e) => e.content.body === 'exactly once');
      assert.equal(posted.length, 1);
    } finally {
      received.stop();
      await second.supervisor.stop();
    }
  });

  it('5e. durable_events: an agent down while room messages arrive gets each once when back, a bridge that replays them included', async () => {
    const { bot, roomId } = await bed.newRoom();
    const texts: string[] = [];
    const handler = (p: { text: string; room_id: string }) => void (p.room_id === roomId && texts.push(p.text));
    const durable = { durable: 'mx5e' } as const;
    // The agent's durable consumer exists, then the agent goes away.
    const first = agentBus.subscribe('matrix.message.received', handler, durable);
    await first.ready;
    first.unsubscribe();
    const a = await bed.startBridge(bed.definition('m5e', bot, roomId, { durable_events: true }));
    for (const body of ['d1', 'd2']) await say(alice, roomId, { msgtype: 'm.text', body });
    await until(() => a.bridge.stats.published >= 2, 10_000, 'published by the first bridge');
    await a.supervisor.stop();
    // Another instance without the cursor replays the room's recent messages: the same room events again.
    const b = await bed.startBridge(bed.definition('m5e-replay', bot, roomId, { durable_events: true, initial_sync_behavior: 'replay' }));
    try {
      await until(() => b.bridge.stats.published >= 2, 10_000, 'published again by the replaying bridge');
      const back = agentBus.subscribe('matrix.message.received', handler, durable);
      await back.ready;
      await say(alice, roomId, { msgtype: 'm.text', body: 'd3' });
      await until(() => texts.includes('d3'), 10_000, 'the agent caught up');
      back.unsubscribe();
      assert.deepEqual(texts, ['d1', 'd2', 'd3']);
    } finally {
      await b.supervisor.stop();
    }
  });

  it('5b. 80 messages while stopped (more than one sync timeline holds): the limited timeline is back-filled, each published once, in order', async () => {
    const { bot, roomId } = await bed.newRoom();
    const def = bed.definition('m5b', bot, roomId, { cursor_store: 'file', cursor_path: join(bed.tmp, 'm5b-cursor.json') });
    const received = bed.collect('matrix.message.received');
    const first = await bed.startBridge(def);
    await say(alice, roomId, { msgtype: 'm.text', body: 'old' });
    await until(() => received.events.length === 1, 10_000, 'old published');
    await first.supervisor.stop();
    // Published before the stop, so never again: back-fill stops at the stored cursor.
    const sent: string[] = ['old'];
    for (let i = 0; i < 80; i++) {
      sent.push(`m${i}`);
      await say(alice, roomId, { msgtype: 'm.text', body: `m${i}` });
    }
    const second = await bed.startBridge(def);
    try {
      await until(() => received.events.length >= 81, 20_000, 'eighty published');
      await say(alice, roomId, { msgtype: 'm.text', body: 'last' });
      sent.push('last');
      await until(() => received.events.length >= 82, 10_000, 'last published');
      assert.deepEqual(
        received.events.map((e) => (e.payload as { text: string }).text),
        sent,
      );
      assert.ok(second.bridge.stats.backfilled > 0, 'some came from back-fill');
    } finally {
      received.stop();
      await second.supervisor.stop();
    }
  });

  it('5d. a send whose answer is lost with its connection is retried with the same transaction id and posts once', async () => {
    const { bot, roomId } = await bed.newRoom();
    // A proxy in front of Synapse that forwards the first PUT …/send/… and then drops the client's connection
    // instead of passing the answer back: the homeserver has the message, the bridge has a network error.
    let dropped = 0;
    const proxy = createNetServer((client) => {
      const upstream = connect(synapse.port, '127.0.0.1');
      let dropNextAnswer = false;
      client.on('data', (chunk) => {
        if (!dropped && /^PUT \/_matrix\/client\/v3\/rooms\/[^ ]+\/send\//.test(chunk.toString('latin1'))) dropNextAnswer = true;
        upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (dropNextAnswer) {
          dropNextAnswer = false;
          dropped++;
          client.destroy();
          upstream.destroy();
          return;
        }
        client.write(chunk);
      });
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
    const { bridge, supervisor } = await bed.startBridge({
      ...bed.definition('m5d', bot, roomId),
      config: { ...bed.definition('m5d', bot, roomId).config, homeserver_url: url },
    });
    try {
      await agentBus.publish('matrix.message.send', { room_id: roomId, text: 'despite the drop' });
      await until(() => bridge.stats.outboundSent === 1, 15_000, 'sent');
      assert.equal(dropped, 1, 'the first answer was dropped');
      assert.equal((bridge.describe().sends as { retried: number }).retried, 1);
      const posted = (await timeline(roomId)).filter((e) => e.content.body === 'despite the drop');
      assert.equal(posted.length, 1);
    } finally {
      await supervisor.stop();
      proxy.close();
    }
  });

  it('5c. cursor_store nats_kv: with the bus on NATS (JetStream), a new instance resumes from the cursor in the KV bucket', async () => {
    const { bot, roomId } = await bed.newRoom();
    const nats = await NatsServer.start({ extraConfig: `jetstream { store_dir: ${JSON.stringify(join(bed.tmp, 'js'))} }` });
    const natsBus = new BusClient(new NatsTransport({ servers: nats.url }), { agentId: 'bridge-nats', logger: quietLogger });
    await natsBus.connect();
    const start = async () => {
      const [bridge] = buildBridges({
        bridges: [bed.definition('m5c', bot, roomId, { cursor_store: 'nats_kv' })],
      }) as MatrixEventBridge[];
      const supervisor = new BridgeSupervisor(bridge, natsBus, quietLogger);
      await supervisor.start();
      assert.equal(supervisor.status, 'healthy', JSON.stringify(supervisor.health()));
      await until(() => bridge.describe().cursor_age_ms !== null, 10_000, 'first sync');
      return supervisor;
    };
    const received: string[] = [];
    const sub = natsBus.subscribe('matrix.message.received', (p: { text: string }) => void received.push(p.text));
    await sub.ready;
    try {
      const first = await start();
      await first.stop();
      for (const body of ['k1', 'k2']) await say(alice, roomId, { msgtype: 'm.text', body });
      const second = await start();
      await until(() => received.length >= 2, 10_000, 'published after the restart');
      assert.deepEqual(received, ['k1', 'k2']);
      await second.stop();
      // The cursor is in the bucket, where another replica would read it.
      const { Kvm } = await import('@nats-io/kv');
      const kv = await new Kvm((natsBus.transport as NatsTransport).connection!).open('openagentio_matrix');
      const keys: string[] = [];
      for await (const k of await kv.keys()) keys.push(k);
      assert.equal(keys.length, 1);
      assert.ok((await kv.get(keys[0]))?.string(), 'a stored next_batch');
    } finally {
      sub.unsubscribe();
      await natsBus.close();
      await nats.stop();
    }
  });

  it('6. redacting the triggering message aborts the handler within 2 s', async () => {
    const { bot, roomId } = await bed.newRoom();
    let started!: () => void;
    const startedP = new Promise<void>((r) => (started = r));
    let abortedAt = 0;
    const slow = agentBus.handleStream('slow6', async (_p: unknown, ctx: HandlerContext & { writer: StreamWriter }) => {
      await ctx.writer.delta('thinking…');
      started();
      await new Promise<void>((resolve) => ctx.signal.addEventListener('abort', () => ((abortedAt = Date.now()), resolve())));
    });
    await slow.ready;
    const { bridge, supervisor } = await bed.startBridge(
      bed.definition('m6', bot, roomId, { respond: { target: 'slow6', trigger: 'all' } }),
    );
    try {
      const askId = await say(alice, roomId, { msgtype: 'm.text', body: 'take your time' });
      await startedP;
      const redactedAt = Date.now();
      await bed.client(alice).redactEvent(roomId, askId);
      await until(() => abortedAt > 0, 5_000, 'handler aborted');
      assert.ok(abortedAt - redactedAt < 2000, `aborted ${abortedAt - redactedAt} ms after the redaction`);
      await until(() => bridge.describe().answering === 0, 10_000, 'answer closed');
      const answer = (await timeline(roomId)).find(
        (e) => e.sender === bot.userId && e.content['m.relates_to']?.['m.in_reply_to']?.event_id === askId,
      );
      assert.ok(answer);
      assert.match((await shownText(roomId, answer.event_id)).text, /^thinking…\n\n⏹ cancelled/);
    } finally {
      slow.unsubscribe();
      await supervisor.stop();
    }
  });

  it('7. a revoked token is unhealthy with no restart loop; Synapse killed and restarted: degraded, then healthy, nothing lost', async () => {
    const revoked = await bed.newRoom();
    const a = await bed.startBridge(bed.definition('m7a', revoked.bot, revoked.roomId));
    await synapse.logout(revoked.bot.accessToken);
    await until(() => a.supervisor.status === 'unhealthy', 15_000, 'unhealthy');
    assert.equal(a.supervisor.health().restarts, 0);
    assert.match(a.supervisor.health().lastError ?? '', /refused the access token/);
    await a.supervisor.stop();

    const { bot, roomId } = await bed.newRoom();
    const def = bed.definition('m7b', bot, roomId, { cursor_store: 'file', cursor_path: join(bed.tmp, 'm7-cursor.json') });
    const b = await bed.startBridge(def);
    const received = bed.collect('matrix.message.received');
    try {
      await say(alice, roomId, { msgtype: 'm.text', body: 'before' });
      await until(() => received.events.length === 1, 10_000, 'before published');
      await synapse.kill();
      await until(() => b.supervisor.status === 'degraded', 20_000, 'degraded');
      await synapse.restart();
      await say(alice, roomId, { msgtype: 'm.text', body: 'after' });
      await until(() => b.supervisor.status === 'healthy', 30_000, 'healthy again');
      await until(() => received.events.length === 2, 20_000, 'after published');
      assert.deepEqual(
        received.events.map((e) => (e.payload as { text: string }).text),
        ['before', 'after'],
      );
      assert.equal(b.supervisor.health().restarts, 0, 'ridden out without a restart');
    } finally {
      received.stop();
      await b.supervisor.stop();
    }
  });
});
