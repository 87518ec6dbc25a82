import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { BusError, type Envelope, type HandlerContext } from '@openagentio/nestjs';
import { until } from '../support/bus-fixture.js';
import { GoPeer } from '../support/go-peer.js';
import type { PeerLine } from '../support/peer-process.js';
import {
  assertWireReadableUpstream,
  CONTEXT,
  CONTEXT_KEYS,
  pick,
  SESSION,
  TRACE,
  TRACEPARENT,
  upstreamSetup,
  type UpstreamFixture,
  type UpstreamSetupOptions,
  type Wire,
} from './upstream-fixture.js';

/**
 * Interop with the REAL upstream reference runtime: the OpenAgentIO Go module v0.3.0 (../shared/peers/openagentio-go,
 * unmodified) as a peer of our bus on a real nats-server, in both directions. The Go side is our own small programs
 * in test/interop/go/ (built on first use by scripts/install-go-peer.sh): `responder` (targets go.*, event
 * subscriptions) and `caller` (invoke, stream, publish, subscribe, driven by JSON lines); both print what they saw.
 * A WireSniffer checks that every envelope that crossed the wire is valid against the upstream schema and that the
 * Go peer never got NATS headers, chunk stubs, acp.control.* frames or an empty trace_id.
 */

type Fixture = UpstreamFixture<GoPeer>;

interface SetupOptions extends UpstreamSetupOptions {
  serverArgs?: string[];
}

async function setup(t: TestContext, options: SetupOptions = {}): Promise<Fixture> {
  return upstreamSetup<GoPeer>(t, options, (role, url, args) =>
    role === 'server'
      ? GoPeer.start('responder', url, ['--agent', 'go-server', ...args, ...(options.serverArgs ?? [])])
      : GoPeer.start('caller', url, ['--agent', 'go-caller', ...args]),
  );
}

/**
 * What crossed the wire: every envelope valid against the upstream schema; nothing sent to the Go peer (its inboxes,
 * the go.* invoke subjects, event subjects) with NATS headers, an empty body (a chunk stub), an acp.control.* event
 * type or acp.* metadata in a reply; no envelope anywhere with an empty trace_id; no cancel frame anywhere (no Go
 * target advertises cancellation); our bus counted no invalid message.
 */
async function assertCleanWire(f: Fixture): Promise<void> {
  await assertWireReadableUpstream(f, { name: 'Go', agentPrefix: 'go-', targetPrefix: 'go' });
  const emptyTrace = f.sniffer.messages.filter((m) => m.envelope && 'trace_id' in m.envelope && !m.envelope.trace_id);
  assert.deepEqual(
    emptyTrace.map((m) => m.subject),
    [],
    'no envelope with an empty trace_id',
  );
  const cancels = f.sniffer.messages.filter((m) => m.envelope?.event_type === 'acp.control.cancel' || /\.cancel\.go\./.test(m.subject));
  assert.deepEqual(
    cancels.map((m) => m.subject),
    [],
    'no cancel frame to a Go target',
  );
}

function goRequest(f: Fixture, target: string): Promise<PeerLine> {
  return f.server.waitFor((l) => l.type === 'request' && l.target === target, 10_000, `a ${target} request`);
}

describe('interop with the upstream Go runtime (openagentio v0.3.0) on a real nats-server', () => {
  it('Go → ours: invoke carries every context field both ways; trace_id/span_id come from the traceparent alone; the reply payload is the handler value as upstream sends it', async (t) => {
    const f = await setup(t, { caller: true });
    const seen: HandlerContext[] = [];
    const subs = [
      f.bus.handleInvoke('nest.echo', (payload, ctx) => {
        seen.push(ctx);
        return { echoed: payload, by: 'nest' };
      }),
      f.bus.handleInvoke('nest.text', () => ({ text: 'hello' })),
      f.bus.handleInvoke('nest.scalar', () => 'hello'),
      f.bus.handleInvoke('nest.nothing', () => undefined),
    ];
    await Promise.all(subs.map((s) => s.ready));

    // Every field, as a Go user sets them on the request envelope.
    const all = await f.caller.run({ op: 'invoke', target: 'nest.echo', payload: { q: 'ü' }, ...CONTEXT });
    assert.equal(all.done.ok, true, JSON.stringify(all.done));
    const reply = all.done.reply as Wire;
    assert.equal(reply.event_type, 'agent.response.final');
    assert.equal(reply.is_final, true);
    assert.deepEqual(pick(reply, CONTEXT_KEYS), CONTEXT, 'the reply carries the context back');
    assert.equal(reply.correlation_id, seen[0].envelope.event_id);
    assert.equal(reply.from, 'nest');
    assert.equal(reply.to, 'go-caller');
    assert.deepEqual(reply.payload, { echoed: { q: 'ü' }, by: 'nest' }, 'the bare value, as a Go responder sends it');
    assert.deepEqual({ ...seen[0].session }, SESSION);
    assert.deepEqual(pick(seen[0].trace, ['traceparent', 'trace_id', 'span_id']), TRACE);

    // Only traceparent (what upstream's OTel preparer writes): trace_id and span_id are derived on arrival.
    const tpOnly = await f.caller.run({ op: 'invoke', target: 'nest.echo', payload: 1, ...SESSION, traceparent: TRACEPARENT });
    assert.equal(tpOnly.done.ok, true);
    assert.deepEqual(pick(seen[1].trace, ['traceparent', 'trace_id', 'span_id']), TRACE, 'the handler sees the whole trace');
    assert.deepEqual(pick(tpOnly.done.reply, ['traceparent', 'trace_id', 'span_id']), TRACE, 'the reply carries a valid trace');

    // Result shapes a Go caller decodes as from a Go responder.
    const text = await f.caller.run({ op: 'invoke', target: 'nest.text', ...SESSION });
    assert.equal(text.done.reply.raw_payload, '{"text":"hello"}');
    const scalar = await f.caller.run({ op: 'invoke', target: 'nest.scalar' });
    assert.equal(scalar.done.reply.raw_payload, '"hello"');
    const nothing = await f.caller.run({ op: 'invoke', target: 'nest.nothing' });
    assert.equal(nothing.done.reply.raw_payload, '', 'no value, no payload (as Go sends a nil result)');
    assert.equal(nothing.done.reply.event_type, 'agent.response.final');
    await assertCleanWire(f);
  });

  it('ours → Go: invoke carries every context field; Go results are read as sent, and only exactly {"result": x} is unwrapped', async (t) => {
    const f = await setup(t, { server: true });
    const echo = await f.bus.invoke<{ agent: string; request: Wire }>(
      'go.echo',
      { n: 1 },
      { ...SESSION, traceparent: TRACEPARENT, metadata: { customer: 'c-1' } },
    );
    assert.equal(echo.agent, 'go-server', 'the bare Go value, not unwrapped or wrapped');
    assert.deepEqual(pick(echo.request, CONTEXT_KEYS), CONTEXT, 'the Go handler saw every field (trace_id/span_id from the traceparent)');
    assert.deepEqual(echo.request.payload, { n: 1 });
    assert.equal(echo.request.metadata.customer, 'c-1');
    await f.sniffer.flush();
    const reply = f.sniffer.messages.map((m) => m.envelope).find((e) => e?.from === 'go-server' && e.event_type === 'agent.response.final');
    assert.deepEqual(pick(reply, CONTEXT_KEYS), CONTEXT, 'the Go reply carries the context back');

    assert.deepEqual(await f.bus.invoke('go.text'), { text: 'hello' });
    assert.equal(await f.bus.invoke('go.scalar'), 'hello');
    assert.deepEqual(await f.bus.invoke('go.result_other'), { result: 1, other: 2 }, 'no key lost');
    assert.equal(await f.bus.invoke('go.result_only'), 1, 'exactly {"result": x} is x (upstream golden sample shape)');
    await assertCleanWire(f);
  });

  it('streams both ways: started, deltas and final in seq order with the context on every frame; error frames end them', async (t) => {
    const f = await setup(t, { server: true, caller: true });
    // Ours → Go.
    const call = f.bus.stream('go.stream', { n: 5, size: 3 }, { ...SESSION, traceparent: TRACEPARENT });
    const frames: Envelope[] = [];
    for await (const frame of call) frames.push(frame);
    assert.deepEqual(
      frames.map((e) => [e.event_type, e.seq ?? 0]),
      [['agent.response.started', 0], ...[1, 2, 3, 4, 5].map((n) => ['agent.response.delta', n]), ['agent.response.final', 6]],
    );
    for (const e of frames) assert.deepEqual(pick(e, CONTEXT_KEYS), CONTEXT, `${e.event_type} carries the context`);
    assert.deepEqual(frames[1].payload, { delta: 'xxx', data: { i: 0 } });
    assert.deepEqual(await f.bus.stream('go.stream', { n: 2, size: 1 }).result(), { count: 2 });
    const failing: Envelope[] = [];
    await assert.rejects(
      (async () => {
        for await (const frame of f.bus.stream('go.stream_fail')) failing.push(frame);
      })(),
      (e: BusError) => e instanceof BusError && e.code === 'AGENT_UNAVAILABLE' && e.message === 'go stream failed',
    );
    assert.equal(failing.length, 3, 'started and two deltas before the error');

    // Go → ours.
    const subs = [
      f.bus.handleStream('nest.words', async function* (p: { text: string }) {
        const words = p.text.split(' ');
        for (let i = 0; i < words.length; i++) yield i < words.length - 1 ? `${words[i]} ` : words[i];
        return { words: words.length };
      }),
      f.bus.handleStream('nest.words_fail', async function* () {
        yield 'one ';
        throw new BusError('INVALID_REQUEST', 'no more words');
      }),
    ];
    await Promise.all(subs.map((s) => s.ready));
    const st = await f.caller.run({ op: 'stream', target: 'nest.words', payload: { text: 'hello big world' }, frames: true, ...CONTEXT });
    assert.equal(st.done.ok, true, JSON.stringify(st.done));
    const got = st.frames.map((l) => l.envelope as Wire);
    assert.deepEqual(
      got.map((e) => [e.event_type, e.seq, e.is_final]),
      [
        ['agent.response.started', 0, false],
        ['agent.response.delta', 1, false],
        ['agent.response.delta', 2, false],
        ['agent.response.delta', 3, false],
        ['agent.response.final', 4, true],
      ],
    );
    assert.equal(
      got
        .slice(1, 4)
        .map((e) => e.payload.delta)
        .join(''),
      'hello big world',
    );
    for (const e of got) assert.deepEqual(pick(e, CONTEXT_KEYS), CONTEXT);
    assert.equal(got[0].metadata, null, 'no acp.ext/acp.ctl in a started frame for an upstream caller');
    const bad = await f.caller.run({ op: 'stream', target: 'nest.words_fail', frames: true });
    const last = bad.done.last as Wire;
    assert.equal(last.event_type, 'agent.response.error');
    assert.deepEqual(pick(last.payload, ['code', 'message']), { code: 'INVALID_REQUEST', message: 'no more words' });
    await assertCleanWire(f);
  });

  it('invoke errors both ways, and a missing target: ours gets NO_HANDLER at once, the Go caller times out at its own timeout', async (t) => {
    // The sniffer listens on our inboxes and events only: a subscriber on `>` would be a responder to NATS.
    const f = await setup(t, { server: true, caller: true, sniff: ['_INBOX.>', 'acp.v1.*.events.>'] });
    await assert.rejects(f.bus.invoke('go.fail'), (e: BusError) => e.code === 'AGENT_UNAVAILABLE' && e.message === 'go handler failed');
    const t0 = Date.now();
    await assert.rejects(f.bus.invoke('go.missing', {}, { timeout: 5000 }), (e: BusError) => e.code === 'NO_HANDLER');
    assert.ok(Date.now() - t0 < 1000, 'NO_HANDLER without waiting for the timeout');

    await f.bus.handleInvoke('nest.fail', () => {
      throw new BusError('INVALID_REQUEST', 'order_id is required');
    }).ready;
    const fail = await f.caller.run({ op: 'invoke', target: 'nest.fail' });
    assert.equal(fail.done.reply.event_type, 'agent.response.error');
    assert.deepEqual(fail.done.reply.payload, { code: 'INVALID_REQUEST', message: 'order_id is required', retryable: false });
    const missing = await f.caller.run({ op: 'invoke', target: 'nest.missing', timeout_ms: 300 });
    assert.equal(missing.done.ok, false);
    assert.match(missing.done.error, /deadline exceeded/);
    assert.ok(missing.done.ms >= 290 && missing.done.ms < 2000, `the Go caller gave up after ${missing.done.ms} ms`);
  });

  it('a monitor subscribed to `>` makes NATS see a responder: a missing target is then AGENT_TIMEOUT at the timeout, not NO_HANDLER', async (t) => {
    const f = await setup(t);
    const t0 = Date.now();
    await assert.rejects(f.bus.invoke('go.missing', {}, { timeout: 300 }), (e: BusError) => e.code === 'AGENT_TIMEOUT');
    assert.ok(Date.now() - t0 >= 290);
  });

  it('events both ways with wildcards, and a queue group with one member in each runtime', async (t) => {
    const f = await setup(t, {
      server: true,
      caller: true,
      serverArgs: ['--sub', 'orders.*', '--sub', 'audit.>', '--sub', 'jobs.*@workers'],
    });
    const star: Envelope[] = [];
    const tail: Envelope[] = [];
    const jobs: Envelope[] = [];
    const subs = [
      f.bus.subscribe('orders.*', (_p, env) => void star.push(env)),
      f.bus.subscribe('audit.>', (_p, env) => void tail.push(env)),
      f.bus.subscribe('jobs.*', (_p, env) => void jobs.push(env), { queue: 'workers' }),
    ];
    await Promise.all(subs.map((s) => s.ready));

    // Go → ours; the sentinel, published last on the same connection, arrives after the others.
    for (const eventType of ['orders.created', 'orders.eu.shipped', 'audit.login.failed', 'orders.sentinel']) {
      const { done } = await f.caller.run({
        op: 'publish',
        event_type: eventType,
        payload: { e: eventType },
        ...SESSION,
        traceparent: TRACEPARENT,
      });
      assert.equal(done.ok, true);
    }
    await until(() => star.some((e) => e.event_type === 'orders.sentinel'), 5000, 'the Go sentinel event');
    assert.deepEqual(
      star.map((e) => e.event_type),
      ['orders.created', 'orders.sentinel'],
    );
    assert.deepEqual(
      tail.map((e) => e.event_type),
      ['audit.login.failed'],
    );
    for (const e of [...star, ...tail]) assert.deepEqual(pick(e, CONTEXT_KEYS), CONTEXT, `${e.event_type}: context, trace derived`);

    // Ours → Go.
    for (const eventType of ['orders.created', 'orders.eu.shipped', 'audit.user.created', 'orders.sentinel']) {
      await f.bus.publish(eventType, { e: eventType }, { ...SESSION, traceparent: TRACEPARENT });
    }
    const fromUs = (sub: string) => (l: PeerLine) => l.type === 'event' && l.sub === sub && l.envelope.from === 'nest';
    await f.server.waitFor((l) => fromUs('orders.*')(l) && l.envelope.event_type === 'orders.sentinel', 5000, 'our sentinel');
    await f.server.waitFor((l) => fromUs('audit.>')(l), 5000, 'our audit event');
    assert.deepEqual(
      f.server.where(fromUs('orders.*')).map((l) => l.envelope.event_type),
      ['orders.created', 'orders.sentinel'],
    );
    assert.deepEqual(
      f.server.where(fromUs('audit.>')).map((l) => l.envelope.event_type),
      ['audit.user.created'],
    );
    for (const l of f.server.where((x) => x.type === 'event' && x.envelope.from === 'nest' && x.sub !== 'jobs.*@workers')) {
      assert.deepEqual(pick(l.envelope, CONTEXT_KEYS), CONTEXT, `${l.envelope.event_type} carries the context to Go`);
    }

    // The queue group: each of 40 events (20 from each side) reaches exactly one member.
    const published = new Set<string>();
    for (let n = 0; n < 20; n++) published.add((await f.bus.publish('jobs.run', { n })).event_id);
    for (let n = 0; n < 20; n++)
      published.add((await f.caller.run({ op: 'publish', event_type: 'jobs.run', payload: { n } })).done.event_id);
    const goJobs = () => f.server.where((l) => l.type === 'event' && l.sub === 'jobs.*@workers');
    await until(() => jobs.length + goJobs().length >= 40, 5000, '40 job deliveries');
    const delivered = [...jobs.map((e) => e.event_id), ...goJobs().map((l) => l.envelope.event_id as string)];
    assert.equal(delivered.length, 40);
    assert.deepEqual(new Set(delivered), published, 'each event once, in one runtime or the other');
    assert.ok(jobs.length > 0 && goJobs().length > 0, `both members got some (${jobs.length} / ${goJobs().length})`);
    await assertCleanWire(f);
  });

  it('a Go and a TS replica of one target in one queue group: each invoke is answered once, by either, in the same result shape', async (t) => {
    const f = await setup(t, { server: true, caller: true, serverArgs: ['--queue', 'replicas'] });
    await f.bus.handleInvoke('go.text', () => ({ text: 'hello' }), { queue: 'replicas' }).ready;
    const answers = await Promise.all(Array.from({ length: 30 }, () => f.caller.run({ op: 'invoke', target: 'go.text' })));
    const by = new Map<string, number>();
    for (const { done } of answers) {
      assert.equal(done.ok, true, JSON.stringify(done));
      assert.equal(done.reply.raw_payload, '{"text":"hello"}', `from ${done.reply.from}: the bare value, as from a Go replica`);
      by.set(done.reply.from, (by.get(done.reply.from) ?? 0) + 1);
    }
    assert.deepEqual([...by.keys()].sort(), ['go-server', 'nest'], `both replicas answered (${JSON.stringify([...by])})`);
    // The Go server prints a line per request it handled; its stdout may reach us after its replies did.
    const goRequests = () => f.server.where((l) => l.type === 'request' && l.target === 'go.text').length;
    await until(() => goRequests() >= by.get('go-server')!, 5000, "the Go replica's request lines");
    assert.equal(goRequests(), by.get('go-server'), 'each request reached one replica');
    await assertCleanWire(f);
  });

  it('a nested Go → ours → Go call keeps the session and the trace (from a traceparent alone) on every hop', async (t) => {
    const f = await setup(t, { server: true, caller: true });
    let inner: HandlerContext | undefined;
    await f.bus.handleInvoke('nest.relay', async (p: { target: string; inner?: unknown }, ctx) => {
      inner = ctx;
      return f.bus.invoke(p.target, p.inner ?? { hop: 2 });
    }).ready;
    const res = await f.caller.run({
      op: 'invoke',
      target: 'nest.relay',
      payload: { target: 'go.echo' },
      ...SESSION,
      traceparent: TRACEPARENT,
    });
    assert.equal(res.done.ok, true, JSON.stringify(res.done));
    assert.deepEqual(pick(inner!.trace, ['traceparent', 'trace_id', 'span_id']), TRACE);
    const hop = (await goRequest(f, 'go.echo')).envelope as Wire;
    assert.equal(hop.from, 'nest');
    assert.deepEqual(pick(hop, CONTEXT_KEYS), CONTEXT, 'the Go end of Go → ours → Go sees the session and a whole trace');
    assert.deepEqual(res.done.reply.payload.request.payload, { hop: 2 }, 'and the Go caller gets the Go value back');
    assert.deepEqual(pick(res.done.reply, CONTEXT_KEYS), CONTEXT);

    // Go → ours → Go → ours: go.nest passes the request's session and trace on, as a Go user does.
    await f.bus.handleInvoke('nest.echo', (_p, ctx) => ({
      session: ctx.session.session_id,
      trace: pick(ctx.trace, ['traceparent', 'trace_id', 'span_id']),
    })).ready;
    const nest = await f.caller.run({
      op: 'invoke',
      target: 'nest.relay',
      payload: { target: 'go.nest', inner: { target: 'nest.echo' } },
      ...SESSION,
      traceparent: TRACEPARENT,
    });
    assert.equal(nest.done.ok, true, JSON.stringify(nest.done));
    assert.deepEqual(
      nest.done.reply.payload.reply.payload,
      { session: SESSION.session_id, trace: TRACE },
      'four hops, one session and trace',
    );
    await assertCleanWire(f);
  });

  it('payloads above max_payload are refused cleanly both ways: an INVALID_REQUEST, never a chunk stub', async (t) => {
    const f = await setup(t, { server: true, caller: true, maxPayload: 16 * 1024 });
    const big = 'x'.repeat(32 * 1024);
    await assert.rejects(
      f.bus.invoke('go.echo', { big }),
      (e: BusError) => e.code === 'INVALID_REQUEST' && /has not shown that it accepts chunked messages/.test(e.message),
    );
    assert.equal(f.server.where((l) => l.type === 'request').length, 0, 'nothing reached the Go peer');

    await f.bus.handleInvoke('nest.big', () => ({ big })).ready;
    const res = await f.caller.run({ op: 'invoke', target: 'nest.big' });
    assert.equal(res.done.reply.event_type, 'agent.response.error');
    assert.equal(res.done.reply.payload.code, 'INVALID_REQUEST', 'our oversize reply became an error frame the Go caller reads');
    const up = await f.caller.run({ op: 'invoke', target: 'nest.big', payload: { big } });
    assert.equal(up.done.ok, false);
    assert.match(up.done.error, /maximum payload exceeded/i, 'upstream refuses its own oversize request');
    await assertCleanWire(f);
  });

  it('a Go producer streaming 20,000 deltas to our reader that sleeps 1 ms every 20 frames: every frame arrives (no flow control upstream, bytes buffered within maxBufferedBytes)', async (t) => {
    const f = await setup(t, { server: true, sniff: ['acp.v1.*.invoke.>', 'acp.v1.*.cancel.>', 'acp.v1.*.control.>'] });
    const call = f.bus.stream('go.stream', { n: 20_000, size: 8 }, { timeout: 120_000 });
    let frames = 0;
    let deltas = 0;
    let expected = 0;
    for await (const frame of call) {
      assert.equal(frame.seq ?? 0, expected++);
      frames++;
      if (frame.event_type === 'agent.response.delta') deltas++;
      if (frames % 20 === 0) await new Promise((r) => setTimeout(r, 1));
    }
    assert.equal(frames, 20_002);
    assert.equal(deltas, 20_000);
    assert.deepEqual(call.final?.payload, { result: { count: 20_000 } });
  });

  it('a Go producer that outruns a reader past maxBufferedBytes ends the stream with BACKPRESSURE_DROP naming the budget; no cancel frame goes to it', async (t) => {
    const f = await setup(t, { server: true, bus: { maxBufferedBytes: 256 * 1024 } });
    const call = f.bus.stream('go.stream', { n: 2000, size: 1000 }, { timeout: 30_000 });
    const it = call[Symbol.asyncIterator]();
    assert.equal((await it.next()).value?.event_type, 'agent.response.started');
    // The reader stops reading until the budget is exceeded: the stream ends with the error once it reads on.
    await until(() => call.finished, 10_000, 'the stream to end over budget');
    let read = 1;
    await assert.rejects(
      (async () => {
        for (;;) {
          if ((await it.next()).done) break;
          read++;
        }
      })(),
      (e: BusError) => e.code === 'BACKPRESSURE_DROP' && /more than 262144 bytes behind a responder without flow control/.test(e.message),
    );
    // Each frame is over 1,000 bytes on the wire: what was held never exceeded the budget by more than one frame.
    assert.ok(read <= Math.ceil((256 * 1024) / 1000) + 1, `the frames buffered (${read}) stayed within the budget`);
    await goRequest(f, 'go.stream');
    await assertCleanWire(f);
  });

  it('no cancel frame to a Go target: leaving its stream early and an invoke timeout publish nothing; its handler runs to its end', async (t) => {
    const f = await setup(t, { server: true });
    const seen: Envelope[] = [];
    for await (const frame of f.bus.stream('go.stream_slow', { n: 10, ms: 20 })) {
      seen.push(frame);
      if (seen.length === 3) break;
    }
    const done = await f.server.waitFor((l) => l.type === 'stream-done', 5000, 'the Go stream handler to end');
    assert.equal(done.written, 10, 'the Go handler wrote every delta');

    const t0 = Date.now();
    await assert.rejects(f.bus.invoke('go.slow', { ms: 400 }, { timeout: 100 }), (e: BusError) => e.code === 'AGENT_TIMEOUT');
    assert.ok(Date.now() - t0 < 400);
    await f.server.waitFor((l) => l.type === 'slow-done', 5000, 'the Go invoke handler to end');
    await assertCleanWire(f);
  });
});
