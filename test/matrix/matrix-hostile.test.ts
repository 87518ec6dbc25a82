// The Matrix bridge against what the outside world can do to it, with a real Synapse (test/support/synapse.ts):
// a misbehaving proxy in front of the homeserver (test/support/matrix-fault-proxy.ts), two bridged bots in one
// room, a member flooding the room, and history older than the bridge.
import 'reflect-metadata';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import * as sdk from 'matrix-js-sdk';
import { logger as sdkLogger } from 'matrix-js-sdk/lib/logger.js';
import type { BusClient } from '@openagentio/nestjs';
import { type BridgeDefinition, MatrixEventBridge } from '@openagentio/nestjs-bridges';
import { BridgeSupervisor } from '@openagentio/nestjs-bridges/internal/supervision/bridge-supervisor.js';
import { buildBridges } from '@openagentio/nestjs-bridges/internal/bridge-manager.js';
import { quietLogger, until } from '../bridge/helpers.js';
import { MatrixFaultProxy, type SyncFault } from '../support/matrix-fault-proxy.js';
import { startMatrixTestbed, type MatrixTestbed } from '../support/matrix-testbed.js';
import type { SynapseServer, SynapseUser } from '../support/synapse.js';

sdkLogger.setLevel('warn');

const MiB = 1024 * 1024;
let bed: MatrixTestbed;
let synapse: SynapseServer;
let alice: SynapseUser;
let bridgeBus: BusClient;
let agentBus: BusClient;

/** The testbed's definition, publishing under the bridge's own name (`<name>.message.received`). */
function definition(name: string, bot: SynapseUser, roomId: string, extra: Record<string, unknown> = {}): BridgeDefinition {
  return { ...bed.definition(name, bot, roomId, extra), mappings: { event_prefix: name } };
}

async function say(user: SynapseUser, roomId: string, body: string): Promise<string> {
  const res = await bed.client(user).sendEvent(roomId, 'm.room.message' as never, { msgtype: 'm.text', body } as never);
  return res.event_id;
}

/** The room's messages (not edits) as alice's client reads them, oldest first. */
async function messages(roomId: string): Promise<Array<{ event_id: string; sender: string; content: Record<string, any> }>> {
  const page = await bed.client(alice).createMessagesRequest(roomId, null, 200, sdk.Direction.Backward);
  return (page.chunk as any[]).filter((e) => e.type === 'm.room.message' && e.content['m.relates_to']?.rel_type !== 'm.replace').reverse();
}

/** Waits `ms` to see that nothing more happens (a bound on something that must not occur has no event to await). */
const observe = (ms: number) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  bed = await startMatrixTestbed('matrix-hostile');
  ({ synapse, alice, bridgeBus, agentBus } = bed);
  const echo = agentBus.handleInvoke('echo-h', (p: { text: string }) => `echo: ${p.text}`);
  await echo.ready;
});

after(async () => {
  await bed?.close();
});

describe('Matrix bridge: what the outside world sends cannot break it', () => {
  it('a proxy answering /sync with HTML, cut JSON, 502, a timeout and a 110 MB sync: degraded each time, never restarted, every message published once', async () => {
    const { bots, roomId } = await bed.newRoom();
    const proxy = await new MatrixFaultProxy(synapse.baseUrl).start();
    const { bridge, supervisor } = await bed.startBridge(
      definition('mfault', bots[0], roomId, { homeserver_url: proxy.url, sync_timeout: 1, max_sync_bytes: 8 * MiB }),
    );
    const received = bed.collect('mfault.message.received');
    const sent: string[] = [];
    try {
      sent.push(await say(alice, roomId, 'before'));
      await until(() => received.events.length === 1, 10_000, 'before published');
      for (const fault of ['html', 'truncated', 'http-502', 'timeout', 'huge'] as SyncFault[]) {
        const lag = monitorEventLoopDelay({ resolution: 10 });
        lag.enable();
        const base = process.memoryUsage().heapUsed;
        let peak = base;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 10);
        proxy.fault = fault;
        try {
          await until(() => proxy.faults[fault] >= 2 && supervisor.status === 'degraded', 20_000, `degraded by ${fault}`);
          // Posted while the bridge cannot sync: it must come through once the homeserver answers again.
          sent.push(await say(alice, roomId, `during ${fault}`));
          await until(() => proxy.faults[fault] >= 3, 20_000, `a third ${fault}`);
        } finally {
          clearInterval(sampler);
          lag.disable();
        }
        assert.ok(peak - base < 96 * MiB, `${fault}: heap grew by ${Math.round((peak - base) / MiB)} MiB`);
        // The proxy streams its answers from this same process, and on a loaded 2-core machine the process itself is
        // descheduled for hundreds of ms (885 ms seen in CI beside other work): the bound tells a bounded read
        // from a whole one (a 110 MB sync parsed whole blocks for seconds) without failing on a busy machine; the
        // heap bound above is the sharper one.
        assert.ok(lag.max / 1e6 < 1500, `${fault}: event loop delayed ${Math.round(lag.max / 1e6)} ms`);
        assert.equal(supervisor.status, 'degraded');
        assert.match(supervisor.health().lastError ?? '', /sync/);
        assert.ok((supervisor.health().lastError ?? '').length < 400, 'a short error, not the page');
        proxy.fault = 'pass';
        await until(() => received.events.length === sent.length, 30_000, `the message posted during ${fault} published`);
        await until(() => supervisor.status === 'healthy', 10_000, `healthy after ${fault}`);
      }
      // The 110 MB answers were not read: each stopped at max_sync_bytes plus what sockets buffer.
      assert.ok(proxy.hugeBytesSent < proxy.faults.huge * 24 * MiB, `${Math.round(proxy.hugeBytesSent / MiB)} MiB sent`);
      sent.push(await say(alice, roomId, 'after'));
      await until(() => received.events.length === sent.length, 10_000, 'after published');
      assert.deepEqual(
        received.events.map((e) => (e.payload as { event_id: string }).event_id),
        sent,
        'each message once, in order',
      );
      assert.equal(bridge.stats.published, sent.length, 'none of the 100,000 fake events published');
      assert.equal(supervisor.health().restarts, 0, 'ridden out without a restart');
    } finally {
      received.stop();
      await supervisor.stop();
      await proxy.stop();
    }
  });

  it('a batch of large messages above max_sync_bytes: fewer events per sync, the rest back-filled, every message once, in order', async () => {
    const { bots, roomId } = await bed.newRoom();
    const def = definition('mbig', bots[0], roomId, {
      cursor_store: 'file',
      cursor_path: join(bed.tmp, 'mbig-cursor.json'),
      max_sync_bytes: 24_000,
    });
    const first = await bed.startBridge(def);
    await first.supervisor.stop();
    const sent: string[] = [];
    for (let i = 0; i < 30; i++) sent.push(await say(alice, roomId, `${i} ${'m'.repeat(800)}`));
    const received = bed.collect('mbig.message.received');
    const second = await bed.startBridge(def);
    try {
      await until(() => received.events.length >= 30, 20_000, 'thirty published');
      assert.deepEqual(
        received.events.map((e) => (e.payload as { event_id: string }).event_id),
        sent,
      );
      assert.ok(second.bridge.stats.backfilled > 0, 'the rest came from back-fill');
      assert.equal(second.supervisor.status, 'healthy');
    } finally {
      received.stop();
      await second.supervisor.stop();
    }
  });

  it('a homeserver answering HTML from the start: the bridge starts degraded, is not restarted, and serves once it answers', async () => {
    const { bots, roomId } = await bed.newRoom();
    const proxy = await new MatrixFaultProxy(synapse.baseUrl).start();
    proxy.fault = 'html';
    proxy.faultAll = true;
    const [bridge] = buildBridges({
      bridges: [definition('mlate', bots[0], roomId, { homeserver_url: proxy.url, sync_timeout: 1 })],
    }) as MatrixEventBridge[];
    const supervisor = new BridgeSupervisor(bridge, bridgeBus, quietLogger, { initialDelayMs: 100, maxDelayMs: 500, maxRestarts: 2 });
    const received = bed.collect('mlate.message.received');
    try {
      await supervisor.start();
      await until(() => supervisor.status === 'degraded' && proxy.faults.html >= 4, 20_000, 'degraded, still trying');
      assert.equal(supervisor.health().restarts, 0);
      proxy.fault = 'pass';
      await until(() => bridge.describe().cursor_age_ms !== null, 20_000, 'first sync');
      assert.equal(supervisor.status, 'healthy');
      const id = await say(alice, roomId, 'hello late bridge');
      await until(() => received.events.length === 1, 10_000, 'published');
      assert.equal((received.events[0].payload as { event_id: string }).event_id, id);
    } finally {
      received.stop();
      await supervisor.stop();
      await proxy.stop();
    }
  });

  it('two bridged bots in one room, trigger all: one human message gets one answer from each, and they do not answer each other', async () => {
    const { bots, roomId } = await bed.newRoom(2);
    const respond = { target: 'echo-h', mode: 'invoke', trigger: 'all', typing: false };
    const a = await bed.startBridge(definition('mbota', bots[0], roomId, { respond }));
    const b = await bed.startBridge(definition('mbotb', bots[1], roomId, { respond }));
    try {
      await say(alice, roomId, 'hello bots');
      await until(() => a.bridge.stats.notAnsweredBridge === 1 && b.bridge.stats.notAnsweredBridge === 1, 15_000, 'each saw the other');
      await observe(2_000);
      const fromBots = (await messages(roomId)).filter((m) => bots.some((u) => u.userId === m.sender));
      assert.equal(fromBots.length, 2, fromBots.map((m) => m.content.body).join(' | '));
      for (const m of fromBots) {
        assert.equal(m.content.body, 'echo: hello bots');
        assert.equal(m.content['io.openagentio.bridge'].turn, 1);
      }
      assert.equal(a.bridge.answerStats.answers + b.bridge.answerStats.answers, 2);
    } finally {
      await a.supervisor.stop();
      await b.supervisor.stop();
    }
  });

  it('two bridged bots, trigger mention, an agent that quotes the question (mentioning the other bot): one answer each', async () => {
    const { bots, roomId } = await bed.newRoom(2);
    const respond = { target: 'echo-h', mode: 'invoke', trigger: 'mention', typing: false };
    const a = await bed.startBridge(definition('mquota', bots[0], roomId, { respond }));
    const b = await bed.startBridge(definition('mquotb', bots[1], roomId, { respond }));
    try {
      await say(alice, roomId, `${bots[0].userId} and ${bots[1].userId}, what do you think?`);
      await until(() => a.bridge.stats.notAnsweredBridge === 1 && b.bridge.stats.notAnsweredBridge === 1, 15_000, 'each saw the other');
      await observe(2_000);
      const fromBots = (await messages(roomId)).filter((m) => bots.some((u) => u.userId === m.sender));
      assert.equal(fromBots.length, 2, fromBots.map((m) => m.content.body).join(' | '));
      assert.equal(a.bridge.answerStats.answers + b.bridge.answerStats.answers, 2);
    } finally {
      await a.supervisor.stop();
      await b.supervisor.stop();
    }
  });

  it('with respond.bridge_turns 3, the two bots exchange exactly 3 turns each and stop', async () => {
    const { bots, roomId } = await bed.newRoom(2);
    const respond = { target: 'echo-h', mode: 'invoke', trigger: 'all', typing: false, bridge_turns: 3 };
    const a = await bed.startBridge(definition('mturna', bots[0], roomId, { respond }));
    const b = await bed.startBridge(definition('mturnb', bots[1], roomId, { respond }));
    try {
      await say(alice, roomId, 'talk');
      await until(() => a.bridge.answerStats.answers + b.bridge.answerStats.answers === 6, 20_000, 'six answers');
      await observe(2_000);
      const fromBots = (await messages(roomId)).filter((m) => bots.some((u) => u.userId === m.sender));
      assert.equal(fromBots.length, 6);
      assert.deepEqual(fromBots.map((m) => m.content['io.openagentio.bridge'].turn).sort(), [1, 1, 2, 2, 3, 3]);
      assert.equal(a.bridge.answerStats.answers + b.bridge.answerStats.answers, 6);
    } finally {
      await a.supervisor.stop();
      await b.supervisor.stop();
    }
  });

  it('one member posting 30 triggering messages gets at most 2 calls at a time, 5 a minute, and one busy notice', async () => {
    const { bots, roomId } = await bed.newRoom();
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const slow = agentBus.handleInvoke('slow-h', async (p: { text: string }) => {
      calls++;
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      await new Promise((r) => setTimeout(r, 300));
      inFlight--;
      return `done: ${p.text}`;
    });
    await slow.ready;
    const { bridge, supervisor } = await bed.startBridge(
      definition('mflood', bots[0], roomId, {
        respond: {
          target: 'slow-h',
          mode: 'invoke',
          trigger: 'all',
          typing: false,
          max_concurrent_per_sender: 2,
          max_per_minute_per_sender: 5,
        },
      }),
    );
    const received = bed.collect('mflood.message.received');
    try {
      for (let i = 0; i < 30; i++) await say(alice, roomId, `q${i}`);
      await until(() => received.events.length === 30, 20_000, 'thirty published');
      await until(() => bridge.describe().answering === 0 && bridge.stats.overLimit === 30 - calls, 15_000, 'calls done');
      assert.ok(maxInFlight <= 2, `${maxInFlight} calls at once`);
      assert.ok(calls >= 2 && calls <= 5, `${calls} calls`);
      await observe(1_000);
      const notices = (await messages(roomId)).filter((m) => m.sender === bots[0].userId && m.content.msgtype === 'm.notice');
      assert.equal(notices.length, 1, 'one busy notice a minute');
      assert.match(notices[0].content.body, /Too many questions/);
    } finally {
      received.stop();
      slow.unsubscribe();
      await supervisor.stop();
    }
  });

  it('messages older than the bridge are published (initial_sync_behavior replay) but never answered', async () => {
    const { bots, roomId } = await bed.newRoom();
    await bed.client(bots[0]).joinRoom(roomId);
    await say(alice, roomId, 'old question');
    const received = bed.collect('mold.message.received');
    const { bridge, supervisor } = await bed.startBridge(
      definition('mold', bots[0], roomId, {
        initial_sync_behavior: 'replay',
        respond: { target: 'echo-h', mode: 'invoke', trigger: 'all', typing: false },
      }),
    );
    try {
      await until(() => received.events.length === 1, 10_000, 'old published');
      assert.equal(bridge.stats.notAnsweredOld, 1);
      await say(alice, roomId, 'new question');
      await until(() => bridge.answerStats.answers === 1 && bridge.describe().answering === 0, 10_000, 'new answered');
      const answers = (await messages(roomId)).filter((m) => m.sender === bots[0].userId);
      assert.deepEqual(
        answers.map((m) => m.content.body),
        ['echo: new question'],
      );
    } finally {
      received.stop();
      await supervisor.stop();
    }
  });
});
