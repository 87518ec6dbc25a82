import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, createInbox, type NatsConnection } from '@nats-io/transport-node';
import { BusClient, type HandlerContext, handoffOf, NatsTransport, type StreamWriter } from '@openagentio/nestjs';
import { newEventId } from '@openagentio/nestjs/internal/protocol/ids.js';
import { schemaProblems } from '@openagentio/nestjs/internal/protocol/envelope-validator.js';
import { RecordingLogger } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';
import { PythonPeer } from '../support/python-peer.js';

type Wire = Record<string, any>;

/**
 * A handed-off stream, read by callers that know nothing of our extensions: a raw NATS client sending the plain
 * acp/1.0 request an upstream Go/Python runtime sends, and the upstream Python SDK itself (openagentio 0.3.0). Both
 * read one ordinary stream to its final frame; the marker is a delta like any other.
 */
describe('a handoff read by upstream-format callers (plain acp/1.0 over NATS)', () => {
  let server: NatsServer;
  let bus: BusClient;
  let raw: NatsConnection;
  let billingPayload: Record<string, unknown> | undefined;

  before(async () => {
    server = await NatsServer.start();
    const log = new RecordingLogger();
    bus = new BusClient(new NatsTransport({ servers: server.url, logger: log }), { agentId: 'desk', logger: log });
    await bus.connect();
    await bus.handleStream('up.triage', async function* () {
      yield 'Checking. ';
      return yield* bus.handoff('up.billing', { reason: 'billing question', state: { plan: 'pro' } });
    }).ready;
    await bus.handleStream('up.billing', async (p: Record<string, unknown>, ctx: HandlerContext & { writer: StreamWriter }) => {
      billingPayload = p;
      await ctx.writer.delta('Billing ');
      await ctx.writer.delta('here.');
      return { answered_by: 'billing' };
    }).ready;
    raw = await connect({ servers: server.url });
  });
  after(async () => {
    await raw?.close();
    await bus?.close();
    await server?.stop();
  });

  /** The frames of one stream the way an upstream caller reads them: by seq, until is_final. */
  const expectOneStream = (frames: Wire[], requestId: string) => {
    assert.deepEqual(
      frames.map((f) => [f.event_type, f.seq ?? 0]),
      [
        ['agent.response.started', 0],
        ['agent.response.delta', 1],
        ['agent.response.delta', 2],
        ['agent.response.delta', 3],
        ['agent.response.delta', 4],
        ['agent.response.final', 5],
      ],
    );
    for (const f of frames) {
      assert.deepEqual(schemaProblems(f), [], JSON.stringify(f));
      assert.equal(f.correlation_id, requestId);
      assert.equal(f.session_id, 'sess-up');
      assert.ok(!f.metadata || Object.keys(f.metadata).every((k) => !k.startsWith('acp.')), 'no acp.* keys for an upstream caller');
    }
    assert.deepEqual(frames[1].payload, { delta: 'Checking. ' });
    assert.deepEqual(frames[2].payload, {
      data: {
        handoff: {
          from: 'up.triage',
          to: 'up.billing',
          depth: 1,
          chain: ['up.triage', 'up.billing'],
          history: { policy: 'all', count: 0 },
          reason: 'billing question',
        },
      },
    });
    assert.deepEqual(
      frames.slice(3, 5).map((f) => f.payload.delta),
      ['Billing ', 'here.'],
    );
    assert.equal(frames[5].is_final, true);
    assert.deepEqual(frames[5].payload, { result: { answered_by: 'billing' } });
  };

  it('a raw NATS client: request without acp.ext, frames on reply_to to the final', async () => {
    const inbox = createInbox();
    const frames: Wire[] = [];
    const done = new Promise<void>((resolve) => {
      raw.subscribe(inbox, {
        callback: (_e, m) => {
          assert.equal(m.headers, undefined, 'no NATS headers towards an upstream caller');
          const env = JSON.parse(m.string()) as Wire;
          frames.push(env);
          if (env.is_final) resolve();
        },
      });
    });
    const request = {
      spec_version: 'acp/1.0',
      schema_version: 1,
      event_id: newEventId(),
      event_type: 'agent.message.received',
      frame_type: 'request',
      occurred_at: new Date().toISOString(),
      from: 'go-caller',
      to: 'up.triage',
      reply_to: inbox,
      session_id: 'sess-up',
      payload: { text: 'why was I charged twice?' },
    };
    raw.publish('acp.v1.invoke.up.triage', JSON.stringify(request));
    await done;
    frames.sort((a, b) => (a.seq ?? 0) - (b.seq ?? 0));
    expectOneStream(frames, request.event_id);
    assert.equal(handoffOf(billingPayload)?.reason, 'billing question');
    assert.equal(billingPayload!.text, 'why was I charged twice?');
  });

  it('the upstream Python SDK (openagentio 0.3.0) streams it to the end', async (t) => {
    const peer = await PythonPeer.start('py_caller.py', server.url, ['--agent', 'py-caller']);
    t.after(() => peer.stop());
    const st = await peer.run({ op: 'stream', target: 'up.triage', payload: { text: 'refund?' }, fields: { session_id: 'sess-up' } });
    assert.equal(st.done.outcome, 'end', JSON.stringify(st.done));
    const frames = st.frames.map((l) => l.envelope as Wire);
    expectOneStream(frames, frames[0].correlation_id);
  });
});
