import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { BusClient, NatsTransport } from '@openagentio/nestjs';
import { newEventId } from '@openagentio/nestjs/internal/protocol/ids.js';
import { schemaProblems } from '@openagentio/nestjs/internal/protocol/envelope-validator.js';
import { NatsServer } from '../support/nats-server.js';
import { deferred, quietLogger } from './helpers.js';

/**
 * Byte-level compatibility with the upstream Go/Python runtimes, played by a raw NATS client: plain JSON
 * bodies, no NATS headers, `reply_to` only, no extensions, seq from 0 and no started frame.
 */
describe('wire compatibility with upstream peers (raw NATS client)', () => {
  let server: NatsServer;
  let bus: BusClient;
  let raw: NatsConnection;

  before(async () => {
    server = await NatsServer.start();
    bus = new BusClient(new NatsTransport({ servers: server.url, logger: quietLogger }), {
      agentId: 'nest-agent',
      logger: quietLogger,
      livenessInterval: 40,
    });
    await bus.connect();
    raw = await connect({ servers: server.url });
  });
  after(async () => {
    await raw?.close();
    await bus?.close();
    await server?.stop();
  });

  const now = () => new Date().toISOString();
  const parse = (m: Msg) => JSON.parse(m.string()) as Record<string, any>;

  it('our request is plain schema-valid JSON without NATS headers; an upstream final reply resolves invoke', async () => {
    const seen = deferred<Msg>();
    const sub = raw.subscribe('acp.v1.invoke.py.echo', {
      callback: (_e, m) => {
        seen.resolve(m);
        const req = parse(m);
        // upstream Python peer: replies to reply_to only, no seq, no headers
        const reply = {
          spec_version: 'acp/1.0',
          schema_version: 1,
          event_id: newEventId(),
          event_type: 'agent.response.final',
          frame_type: 'response.final',
          occurred_at: now(),
          correlation_id: req.event_id,
          session_id: req.session_id,
          from: 'py.echo',
          to: req.from,
          is_final: true,
          payload: { result: { echoed: req.payload } },
          metadata: { data: {} },
        };
        raw.publish(req.reply_to, JSON.stringify(reply));
      },
    });
    await raw.flush();
    const result = await bus.invoke('py.echo', { q: 'ü' }, { session_id: 's-1', timeout: 3000 });
    assert.deepEqual(result, { echoed: { q: 'ü' } });
    const m = await seen.promise;
    sub.unsubscribe();
    assert.equal(m.headers, undefined, 'no NATS headers on a request');
    const req = parse(m);
    assert.deepEqual(schemaProblems(req), []);
    assert.equal(req.spec_version, 'acp/1.0');
    assert.equal(req.event_type, 'agent.message.received');
    assert.equal(req.to, 'py.echo');
    assert.equal(req.session_id, 's-1');
    assert.ok(req.reply_to.startsWith('_INBOX.'));
    assert.equal(m.reply, req.reply_to, 'the NATS reply subject is reply_to as well (no-responders)');
    assert.ok(!('seq' in req) && !('is_final' in req), 'seq 0 and is_final false are omitted');
    assert.equal(typeof req.payload, 'object', 'payload is embedded JSON, not a string');
  });

  it('upstream stream frames (no started, seq from 0, out of order, reply_to only) are read in order by bus.stream', async () => {
    const sub = raw.subscribe('acp.v1.invoke.go.writer', {
      callback: (_e, m) => {
        const req = parse(m);
        const frame = (seq: number, type: string, payload: unknown, final = false) =>
          JSON.stringify({
            spec_version: 'acp/1.0',
            schema_version: 1,
            event_id: newEventId(),
            event_type: type,
            occurred_at: '2026-05-02T10:00:00.123456789+02:00',
            correlation_id: req.event_id,
            from: 'go.writer',
            ...(seq ? { seq } : {}),
            ...(final ? { is_final: true } : {}),
            payload,
          });
        raw.publish(req.reply_to, frame(1, 'agent.response.delta', { delta: 'lo ' }));
        raw.publish(req.reply_to, frame(0, 'agent.response.delta', { delta: 'hel' }));
        raw.publish(req.reply_to, frame(2, 'agent.response.delta', { delta: 'world' }));
        raw.publish(req.reply_to, frame(1, 'agent.response.delta', { delta: 'DUPLICATE' }));
        raw.publish(req.reply_to, frame(3, 'agent.response.final', { result: 'ok' }, true));
      },
    });
    await raw.flush();
    const call = bus.stream('go.writer', {}, { timeout: 3000 });
    assert.equal(await call.text(), 'hello world');
    assert.deepEqual(call.final?.payload, { result: 'ok' });
    sub.unsubscribe();
  });

  it('our handlers answer an upstream request (no acp.ext) with plain §3 frames: no control frames, no acp.* keys', async () => {
    bus.handleInvoke('nest.add', (p: { a: number; b: number }) => p.a + p.b);
    bus.handleStream('nest.count', async function* (_p, ctx) {
      for (let i = 0; i < 3; i++) {
        yield `n${i}`;
        // long enough for several liveness intervals: an upstream caller must never be pinged
        await new Promise((r) => setTimeout(r, 60));
      }
      void ctx;
      return 'counted';
    });
    await bus.transport.flush();

    const request = (target: string, payload: unknown, inbox: string) => ({
      spec_version: 'acp/1.0',
      schema_version: 1,
      event_id: newEventId(),
      event_type: 'agent.message.received',
      frame_type: 'request',
      occurred_at: now(),
      session_id: 'sess-9',
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      from: 'py.client',
      to: target,
      reply_to: inbox,
      payload,
      metadata: { customer: 'c-1' },
    });
    const collect = async (target: string, payload: unknown) => {
      const inbox = createInbox();
      const msgs: Msg[] = [];
      const done = deferred();
      raw.subscribe(inbox, {
        callback: (_e, m) => {
          msgs.push(m);
          if (parse(m).is_final) done.resolve();
        },
      });
      const req = request(target, payload, inbox);
      raw.publish(`acp.v1.invoke.${target}`, JSON.stringify(req)); // no NATS reply subject: reply_to only
      await done.promise;
      await raw.flush(); // anything sent after the final would have arrived by now
      return { req, frames: msgs };
    };
    const checkFrames = (req: Record<string, any>, msgs: Msg[]) => {
      for (const m of msgs) {
        assert.equal(m.headers, undefined, 'no NATS headers');
        const f = parse(m);
        assert.deepEqual(schemaProblems(f), [], JSON.stringify(f));
        assert.ok(!f.event_type.startsWith('acp.'), `no control frames (${f.event_type})`);
        assert.equal(f.correlation_id, req.event_id);
        assert.equal(f.to, 'py.client');
        assert.equal(f.session_id, 'sess-9');
        assert.equal(f.trace_id, req.trace_id);
        assert.deepEqual(f.metadata, { customer: 'c-1' }, 'request metadata inherited, no acp.* keys');
      }
      return msgs.map(parse);
    };

    const inv = await collect('nest.add', { a: 2, b: 40 });
    const [reply] = checkFrames(inv.req, inv.frames);
    assert.equal(inv.frames.length, 1);
    assert.equal(reply.event_type, 'agent.response.final');
    assert.equal(reply.is_final, true);
    assert.ok(!('seq' in reply));
    assert.equal(reply.payload, 42, 'the bare value, as upstream invoke handlers answer');

    const st = await collect('nest.count', {});
    const frames = checkFrames(st.req, st.frames);
    assert.deepEqual(
      frames.map((f) => [f.event_type, f.seq ?? 0]),
      [
        ['agent.response.started', 0],
        ['agent.response.delta', 1],
        ['agent.response.delta', 2],
        ['agent.response.delta', 3],
        ['agent.response.final', 4],
      ],
    );
    assert.deepEqual(
      frames.slice(1, 4).map((f) => f.payload),
      [{ delta: 'n0' }, { delta: 'n1' }, { delta: 'n2' }],
    );
    assert.deepEqual(frames[4].payload, { result: 'counted' });
  });
});
