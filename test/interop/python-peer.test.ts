import { describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Module, type DynamicModule } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { BusClient, BusError, MemoryTransport, type HandlerContext } from '@openagentio/nestjs';
import { BridgeModule, type Bridge } from '@openagentio/nestjs-bridges';
import { BridgeManager, buildBridges } from '@openagentio/nestjs-bridges/internal/bridge-manager.js';
import { until } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';
import { PythonPeer, type PeerLine } from '../support/python-peer.js';
import {
  assertWireReadableUpstream,
  CONTEXT,
  CONTEXT_KEYS,
  pick,
  SESSION,
  TENANT,
  TRACE,
  upstreamSetup,
  type UpstreamFixture,
  type UpstreamSetupOptions,
  type Wire,
} from './upstream-fixture.js';

/**
 * Interop with the REAL upstream runtime: the OpenAgentIO Python SDK (openagentio 0.3.0 from PyPI, with nats-py) runs
 * as a peer of our bus on a real nats-server, in both directions. The Python side is test/interop/python/py_server.py
 * (targets py.*, event subscriptions) and py_caller.py (calls our nest.* targets and publishes, driven by JSON
 * commands); both print what they saw as JSON lines. A WireSniffer checks that every envelope that crossed the wire
 * is valid against the upstream schema and that the Python peer never got NATS headers, chunk stubs or
 * acp.control.* frames.
 */

type Fixture = UpstreamFixture<PythonPeer>;

/** The shared set-up with py_server.py (agent `py-server`) and py_caller.py (agent `py-caller`) as the peers. */
async function setup(t: TestContext, options: UpstreamSetupOptions = {}): Promise<Fixture> {
  const f = await upstreamSetup<PythonPeer>(t, options, (role, url, args) =>
    role === 'server'
      ? PythonPeer.start('py_server.py', url, ['--agent', 'py-server', ...args])
      : PythonPeer.start('py_caller.py', url, ['--agent', 'py-caller', ...args]),
  );
  const server = f.server as PythonPeer | undefined;
  // The SDK may register a handler's subscription after it returns, so "ready" can come before the server knows
  // the subjects; and with the sniffer subscribed to everything a request to a subject nobody serves yet would not
  // even come back as no-responders. Wait until the server lists the Python subscriptions.
  if (server)
    await serverHasSubscriptions(f.nats, [
      `acp.v1.${TENANT}.invoke.py.echo`,
      `acp.v1.${TENANT}.invoke.py.ticker`,
      `acp.v1.${TENANT}.events.jobs.*`,
    ]);
  return f;
}

async function serverHasSubscriptions(nats: NatsServer, subjects: string[]): Promise<void> {
  const missing = () =>
    fetch(`http://127.0.0.1:${nats.monitorPort}/connz?subs=1`)
      .then((r) => r.json() as Promise<{ connections?: Array<{ subscriptions_list?: string[] }> }>)
      .then((z) => {
        const all = new Set((z.connections ?? []).flatMap((c) => c.subscriptions_list ?? []));
        return subjects.filter((s) => !all.has(s));
      });
  const end = Date.now() + 10_000;
  for (let left = await missing(); left.length > 0; left = await missing()) {
    if (Date.now() > end) throw new Error(`the Python server never subscribed to ${left.join(', ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * What crossed the wire: every envelope valid against the upstream schema; nothing sent to the Python peer (its
 * inboxes, the py.* invoke subjects, event subjects) with NATS headers, an empty body (a chunk stub) or an
 * acp.control.* event type; our replies to it without acp.* metadata keys. And each side decoded all it got: our bus
 * counted no invalid message, the Python peers logged no decode error.
 */
async function assertCleanWire(f: Fixture): Promise<void> {
  await assertWireReadableUpstream(f, { name: 'Python', agentPrefix: 'py-', targetPrefix: 'py' });
  for (const peer of [f.server, f.caller]) {
    const errors = peer?.where((l) => l.type === 'log' && /decode error/.test(l.message)) ?? [];
    assert.deepEqual(errors, [], `${peer?.script} could not decode what it got`);
  }
}

/** The envelopes on the wire that went to `subject`. */
function sentTo(f: Fixture, subject: string): Wire[] {
  return f.sniffer.messages.filter((m) => m.subject === subject && m.envelope).map((m) => m.envelope!);
}

function deferred<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** The errors our nest.fail / nest.fail_stream throw, by kind (the same kinds as py_server.py's). */
function nestFailure(kind: string): Error {
  switch (kind) {
    case 'invalid':
      return new BusError('INVALID_REQUEST', 'order_id is required');
    case 'unavailable':
      return new BusError('AGENT_UNAVAILABLE', 'inventory is down');
    case 'timeout': {
      const e = new Error('inventory did not answer in time');
      e.name = 'TimeoutError';
      return e;
    }
    default:
      return new Error('unexpected failure in the nest handler');
  }
}

const isCode = (code: string) => (e: unknown) => e instanceof BusError && e.code === code;

describe('interop with the upstream Python SDK (openagentio 0.3.0 from PyPI) on a real nats-server', () => {
  it('Python → ours: invoke and stream (started, deltas, final) carry session, conversation, tenant, user, channel and traceparent/trace_id/span_id both ways, and on through a nested call of ours back to Python; an upstream invoke of our stream target ends at our started frame', async (t) => {
    const f = await setup(t, { caller: true, server: true });
    const seen: Array<{ payload: unknown; ctx: HandlerContext }> = [];
    const subs = [
      f.bus.handleInvoke('nest.echo', (payload, ctx) => {
        seen.push({ payload, ctx });
        return { echoed: payload, by: 'nest' };
      }),
      f.bus.handleStream('nest.words', async function* (p: { text: string }, ctx) {
        seen.push({ payload: p, ctx });
        const words = p.text.split(' ');
        for (let i = 0; i < words.length; i++) yield i < words.length - 1 ? `${words[i]} ` : words[i];
        return { words: words.length };
      }),
      // A nested call inherits the session and trace of the call it serves.
      f.bus.handleInvoke('nest.relay', async (payload) => (await f.bus.invokeEnvelope('py.echo', payload)).payload),
    ];
    await Promise.all(subs.map((s) => s.ready));

    const inv = await f.caller.run({
      op: 'invoke',
      target: 'nest.echo',
      payload: { q: 'ü' },
      fields: CONTEXT,
      metadata: { customer: 'c-1' },
    });
    assert.equal(inv.done.outcome, 'reply', JSON.stringify(inv.done));
    // Our handler saw every field of the upstream request.
    const { ctx } = seen[0];
    assert.deepEqual(seen[0].payload, { q: 'ü' });
    assert.deepEqual({ ...ctx.session }, SESSION);
    assert.deepEqual(pick(ctx.trace, ['traceparent', 'trace_id', 'span_id']), TRACE);
    assert.equal(ctx.envelope.from, 'py-caller');
    assert.equal(ctx.envelope.metadata?.customer, 'c-1');
    assert.equal(ctx.deadline, undefined, 'an upstream request carries no deadline');
    // The upstream caller got them all back on our reply.
    const reply = inv.done.envelope as Wire;
    assert.equal(reply.event_type, 'agent.response.final');
    assert.equal(reply.is_final, true);
    assert.deepEqual(pick(reply, CONTEXT_KEYS), CONTEXT);
    assert.equal(reply.correlation_id, ctx.envelope.event_id);
    assert.equal(reply.from, 'nest');
    assert.equal(reply.to, 'py-caller');
    assert.deepEqual(reply.metadata, { customer: 'c-1' }, 'request metadata inherited, no acp.* key');
    // As upstream invoke handlers send it: the bare value, to a caller that did not advertise our extensions.
    assert.deepEqual(reply.payload, { echoed: { q: 'ü' }, by: 'nest' });

    const st = await f.caller.run({ op: 'stream', target: 'nest.words', payload: { text: 'hello big world' }, fields: CONTEXT });
    assert.equal(st.done.outcome, 'end', JSON.stringify(st.done));
    const frames = st.frames.map((l) => l.envelope as Wire);
    assert.deepEqual(
      frames.map((e) => [e.event_type, e.seq ?? 0, e.is_final ?? false]),
      [
        ['agent.response.started', 0, false],
        ['agent.response.delta', 1, false],
        ['agent.response.delta', 2, false],
        ['agent.response.delta', 3, false],
        ['agent.response.final', 4, true],
      ],
    );
    assert.equal(
      frames
        .slice(1, 4)
        .map((e) => e.payload.delta)
        .join(''),
      'hello big world',
    );
    assert.deepEqual(frames[4].payload, { result: { words: 3 } });
    for (const e of frames) {
      assert.deepEqual(pick(e, CONTEXT_KEYS), CONTEXT, `${e.event_type} carries the context`);
      assert.equal(e.correlation_id, seen[1].ctx.envelope.event_id);
    }
    assert.deepEqual({ ...seen[1].ctx.session }, SESSION);
    assert.deepEqual(pick(seen[1].ctx.trace, ['traceparent', 'trace_id', 'span_id']), TRACE);
    assert.equal(frames[0].metadata, undefined, 'no acp.ext/acp.ctl in a started frame for an upstream caller');

    // Python → ours → Python: the context arrives intact two hops on.
    const relay = await f.caller.run({ op: 'invoke', target: 'nest.relay', payload: { hop: 2 }, fields: CONTEXT });
    assert.deepEqual(relay.done.envelope.payload, { echoed: { hop: 2 }, by: 'py-server' });
    assert.deepEqual(pick(relay.done.envelope, CONTEXT_KEYS), CONTEXT);
    const hop = (await f.server.waitFor((l) => l.type === 'request' && l.target === 'py.echo')).envelope as Wire;
    assert.equal(hop.from, 'nest');
    assert.deepEqual(pick(hop, CONTEXT_KEYS), CONTEXT);

    // Upstream's invoke takes the first reply on its inbox: for one of our stream targets, that is our started frame.
    const first = await f.caller.run({ op: 'invoke', target: 'nest.words', payload: { text: 'a b' } });
    assert.equal(first.done.outcome, 'reply');
    assert.equal(first.done.envelope.event_type, 'agent.response.started');

    // On the wire: the upstream request has no frame_type (0.3.0 on PyPI predates it) and no NATS reply subject.
    const req = f.sniffer.messages.find((m) => m.subject === `acp.v1.${TENANT}.invoke.nest.echo`);
    assert.ok(req?.envelope);
    assert.equal(req.envelope.frame_type, undefined);
    assert.equal(req.reply, undefined, 'upstream publishes requests with reply_to only');
    await assertCleanWire(f);
  });

  it('ours → Python: invoke and stream (started, deltas, final) carry session, conversation, tenant, user, channel and traceparent/trace_id/span_id both ways; upstream replies have no frame_type and a bare invoke result', async (t) => {
    const f = await setup(t, { server: true });
    const reply = await f.bus.invokeEnvelope(
      'py.echo',
      { q: 'ü' },
      { ...SESSION, traceparent: TRACE.traceparent, metadata: { customer: 'c-1' } },
    );
    const req = (await f.server.waitFor((l) => l.type === 'request' && l.target === 'py.echo')).envelope as Wire;
    // The upstream handler saw every field (trace_id/span_id we derive from the traceparent).
    assert.deepEqual(pick(req, CONTEXT_KEYS), CONTEXT);
    assert.equal(req.from, 'nest');
    assert.equal(req.to, 'py.echo');
    assert.match(req.reply_to, /^_INBOX\./);
    assert.equal(req.metadata.customer, 'c-1');
    assert.equal(
      req.metadata['acp.ext'],
      'nohandler,deadline,cancel,flow,chunk,trace',
      'our extensions are advertised (upstream ignores them)',
    );
    assert.equal(typeof req.metadata['acp.deadline'], 'number');
    // ... and sent them all back.
    assert.deepEqual(pick(reply, CONTEXT_KEYS), CONTEXT);
    assert.equal(reply.event_type, 'agent.response.final');
    assert.equal(reply.correlation_id, req.event_id);
    assert.equal(reply.from, 'py-server');
    assert.equal(reply.to, 'nest');
    assert.deepEqual(reply.metadata, { customer: 'c-1' }, 'upstream drops acp.* keys from the inherited metadata');
    assert.deepEqual(reply.payload, { echoed: { q: 'ü' }, by: 'py-server' }, 'upstream: the invoke result is the bare payload');
    assert.deepEqual(await f.bus.invoke('py.echo', { n: 1 }), { echoed: { n: 1 }, by: 'py-server' });
    // A bare result with a "result" key and others is kept whole; only exactly {"result": x} is unwrapped.
    assert.deepEqual(await f.bus.invoke('py.identity', { result: 1, note: 'kept' }), { result: 1, note: 'kept' });
    assert.equal(await f.bus.invoke('py.identity', { result: 1 }), 1);
    const raw = sentTo(f, req.reply_to);
    assert.equal(raw.length, 1);
    assert.equal(raw[0].frame_type, undefined, 'openagentio 0.3.0 from PyPI writes no frame_type');

    const call = f.bus.stream('py.words', { text: 'hello big world' }, { ...SESSION, traceparent: TRACE.traceparent });
    const frames: Wire[] = [];
    for await (const frame of call) frames.push(frame);
    assert.deepEqual(
      frames.map((e) => [e.event_type, e.seq ?? 0, e.is_final ?? false]),
      [
        ['agent.response.started', 0, false],
        ['agent.response.delta', 1, false],
        ['agent.response.delta', 2, false],
        ['agent.response.delta', 3, false],
        ['agent.response.final', 4, true],
      ],
    );
    assert.deepEqual(frames[0].payload, { meta: { agent: 'py-server', model: 'words' } });
    assert.equal(
      frames
        .slice(1, 4)
        .map((e) => e.payload.delta)
        .join(''),
      'hello big world',
    );
    assert.deepEqual(call.final?.payload, { result: { words: 3 } });
    const streamReq = (await f.server.waitFor((l) => l.type === 'request' && l.target === 'py.words')).envelope as Wire;
    assert.deepEqual(pick(streamReq, CONTEXT_KEYS), CONTEXT);
    for (const e of frames) {
      assert.deepEqual(pick(e, CONTEXT_KEYS), CONTEXT, `${e.event_type} carries the context`);
      assert.equal(e.correlation_id, streamReq.event_id);
    }
    await assertCleanWire(f);
  });

  it('a handler error maps to the same ErrorPayload code on each side (INVALID_REQUEST, AGENT_UNAVAILABLE, AGENT_TIMEOUT, unexpected → AGENT_UNAVAILABLE), for invoke and stream error frames', async (t) => {
    const f = await setup(t, { server: true, caller: true });
    const subs = [
      f.bus.handleInvoke('nest.fail', (p: { kind: string }) => {
        throw nestFailure(p.kind);
      }),
      f.bus.handleStream('nest.fail_stream', async function* (p: { kind: string }) {
        yield 'partial ';
        throw nestFailure(p.kind);
      }),
    ];
    await Promise.all(subs.map((s) => s.ready));
    const kinds = ['invalid', 'unavailable', 'timeout', 'crash'];

    // Python → ours: the error frame the upstream caller gets.
    const pyView: Record<string, Wire> = {};
    for (const kind of kinds) {
      const { done } = await f.caller.run({ op: 'invoke', target: 'nest.fail', payload: { kind } });
      assert.equal(done.outcome, 'reply', 'upstream invoke returns an error frame, it does not raise');
      assert.equal(done.envelope.event_type, 'agent.response.error');
      assert.equal(done.envelope.is_final, true);
      pyView[kind] = done.envelope.payload;
    }
    // Ours → Python: the BusError our caller gets.
    const ourView: Record<string, BusError> = {};
    for (const kind of kinds) {
      const err = await f.bus.invoke('py.fail', { kind }).then(
        () => assert.fail('py.fail must fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof BusError, String(err));
      ourView[kind] = err;
    }
    const expected = { invalid: 'INVALID_REQUEST', unavailable: 'AGENT_UNAVAILABLE', timeout: 'AGENT_TIMEOUT', crash: 'AGENT_UNAVAILABLE' };
    for (const kind of kinds) {
      assert.equal(pyView[kind].code, expected[kind as keyof typeof expected], `ours → upstream caller, ${kind}`);
      assert.equal(ourView[kind].code, expected[kind as keyof typeof expected], `upstream → our caller, ${kind}`);
    }
    assert.equal(pyView.invalid.message, 'order_id is required');
    assert.equal(ourView.invalid.message, 'order_id is required');
    assert.equal(pyView.invalid.retryable, false);
    assert.equal(ourView.invalid.retryable, false);
    assert.equal(ourView.invalid.details, undefined, 'upstream\'s "cause":{} reads as no cause');
    assert.equal(pyView.timeout.retryable, true);
    assert.equal(ourView.timeout.retryable, true);
    // Differences: AGENT_UNAVAILABLE thrown on purpose is retryable by default with us, not upstream (its
    // AgentUnavailableError says false); an unexpected error's message stays in our process (error id), upstream
    // sends it.
    assert.equal(pyView.unavailable.retryable, true);
    assert.equal(ourView.unavailable.retryable, false);
    assert.match(pyView.crash.message, /^internal error \(error id [0-9a-f-]{36}\)$/);
    assert.equal(pyView.crash.retryable, false);
    assert.equal(ourView.crash.message, 'unexpected failure in the python handler');
    assert.equal(ourView.crash.retryable, false);

    // Stream error frames, both ways: started, the delta, then the error frame with the next seq.
    for (const kind of ['invalid', 'crash']) {
      const st = await f.caller.run({ op: 'stream', target: 'nest.fail_stream', payload: { kind } });
      assert.equal(st.done.outcome, 'end');
      const frames = st.frames.map((l) => l.envelope as Wire);
      assert.deepEqual(
        frames.map((e) => [e.event_type, e.seq ?? 0]),
        [
          ['agent.response.started', 0],
          ['agent.response.delta', 1],
          ['agent.response.error', 2],
        ],
      );
      assert.equal(frames[2].is_final, true);
      assert.equal(frames[2].payload.code, expected[kind as keyof typeof expected]);

      const call = f.bus.stream('py.fail_stream', { kind }, { yieldErrors: true });
      const ours: Wire[] = [];
      for await (const frame of call) ours.push(frame);
      assert.deepEqual(
        ours.map((e) => [e.event_type, e.seq ?? 0]),
        [
          ['agent.response.started', 0],
          ['agent.response.delta', 1],
          ['agent.response.error', 2],
        ],
      );
      assert.equal(ours[2].payload.code, expected[kind as keyof typeof expected]);
    }
    // Without yieldErrors the error frame is thrown as a BusError after the frames before it.
    const texts: string[] = [];
    await assert.rejects(async () => {
      for await (const frame of f.bus.stream('py.fail_stream', { kind: 'invalid' })) {
        if (frame.event_type === 'agent.response.delta') texts.push((frame.payload as { delta: string }).delta);
      }
    }, isCode('INVALID_REQUEST'));
    assert.deepEqual(texts, ['partial ']);
    await assertCleanWire(f);
  });

  it('publish/subscribe across runtimes: wildcards (* and >) and a queue group shared by both runtimes, events both ways with their session and trace fields', async (t) => {
    const f = await setup(t, { server: true, caller: true });
    const star: Wire[] = [];
    const tail: Wire[] = [];
    const jobs: Wire[] = [];
    const subs = [
      f.bus.subscribe('orders.*', (_p, env) => void star.push(env)),
      f.bus.subscribe('audit.>', (_p, env) => void tail.push(env)),
      f.bus.subscribe('jobs.*', (_p, env) => void jobs.push(env), { queue: 'workers' }),
    ];
    await Promise.all(subs.map((s) => s.ready));

    // Python → ours. The sentinel, published last on the same connection, arrives after everything before it.
    for (const eventType of ['orders.created', 'orders.eu.shipped', 'audit.login.failed', 'orders.sentinel']) {
      const { done } = await f.caller.run({ op: 'publish', event_type: eventType, payload: { e: eventType }, fields: CONTEXT });
      assert.equal(done.outcome, 'published');
    }
    await until(() => star.some((e) => e.event_type === 'orders.sentinel'), 5000, 'the Python sentinel event');
    assert.deepEqual(
      star.map((e) => e.event_type),
      ['orders.created', 'orders.sentinel'],
      '"orders.*" matches one token only',
    );
    assert.deepEqual(
      tail.map((e) => e.event_type),
      ['audit.login.failed'],
      '"audit.>" matches the rest',
    );
    for (const e of [...star, ...tail]) assert.deepEqual(pick(e, CONTEXT_KEYS), CONTEXT, `${e.event_type} carries the context`);
    assert.deepEqual(star[0].payload, { e: 'orders.created' });
    // Upstream's publish sets no `from` (and no tenant_id unless the envelope has one), though the subject is tenant-scoped.
    const pyEvent = f.sniffer.messages.find((m) => m.subject === `acp.v1.${TENANT}.events.orders.created`);
    assert.equal(pyEvent?.envelope?.from, undefined);

    // Ours → Python.
    for (const eventType of ['orders.created', 'orders.eu.shipped', 'audit.user.created', 'orders.sentinel']) {
      await f.bus.publish(eventType, { e: eventType }, { ...SESSION, traceparent: TRACE.traceparent });
    }
    const fromUs = (sub: string) => (l: PeerLine) => l.type === 'event' && l.sub === sub && l.envelope.from === 'nest';
    // nats-py runs each subscription's callbacks on its own: order holds within a subscription, not across them.
    await f.server.waitFor((l) => fromUs('orders.*')(l) && l.envelope.event_type === 'orders.sentinel', 5000, 'our sentinel event');
    await f.server.waitFor((l) => fromUs('audit.>')(l) && l.envelope.event_type === 'audit.user.created', 5000, 'our audit event');
    assert.deepEqual(
      f.server.where(fromUs('orders.*')).map((l) => l.envelope.event_type),
      ['orders.created', 'orders.sentinel'],
    );
    assert.deepEqual(
      f.server.where(fromUs('audit.>')).map((l) => l.envelope.event_type),
      ['audit.user.created'],
    );
    for (const l of f.server.where((x) => x.type === 'event' && x.envelope.from === 'nest' && x.sub !== 'jobs.*')) {
      assert.deepEqual(pick(l.envelope, CONTEXT_KEYS), CONTEXT, `${l.envelope.event_type} carries the context to Python`);
    }

    // A queue group with one member in each runtime: each event, from either side, reaches exactly one of them.
    const published = new Set<string>();
    for (let n = 0; n < 20; n++) published.add((await f.bus.publish('jobs.run', { n, by: 'nest' })).event_id);
    const py = await f.caller.run({ op: 'publish', event_type: 'jobs.run', count: 20 });
    for (const id of py.done.event_ids as string[]) published.add(id);
    const pyJobs = () => f.server.where((l) => l.type === 'event' && l.sub === 'jobs.*');
    await until(() => jobs.length + pyJobs().length >= 40, 5000, '40 job deliveries');
    await assertCleanWire(f);
    const delivered = [...jobs.map((e) => e.event_id as string), ...pyJobs().map((l) => l.envelope.event_id as string)];
    assert.equal(delivered.length, 40, 'each job delivered once');
    assert.deepEqual(new Set(delivered), published);
    assert.ok(jobs.length > 0 && pyJobs().length > 0, `both members got jobs (ours ${jobs.length}, Python ${pyJobs().length})`);
  });

  it('missing target: our caller gets NO_HANDLER within milliseconds (no-responders, needs nothing from upstream); an upstream caller gets nothing from us and times out at exactly its own timeout', async (t) => {
    // A sniffer on every subject would be a subscriber of the missing target too, and NATS sends no-responders only
    // when there is none: this one listens to every inbox, our targets, events and cancels, not to py.*.
    const sniff = ['_INBOX.>', `acp.v1.${TENANT}.invoke.nest.>`, `acp.v1.${TENANT}.events.>`, `acp.v1.${TENANT}.cancel.>`];
    const f = await setup(t, { caller: true, sniff });
    let t0 = Date.now();
    await assert.rejects(f.bus.invoke('py.nothing', {}, { timeout: 5000 }), isCode('NO_HANDLER'));
    assert.ok(Date.now() - t0 < 1000, `NO_HANDLER after ${Date.now() - t0} ms`);
    t0 = Date.now();
    await assert.rejects(async () => {
      for await (const _ of f.bus.stream('py.nothing', {}, { timeout: 5000 })) {
        // nothing arrives
      }
    }, isCode('NO_HANDLER'));
    assert.ok(Date.now() - t0 < 1000, `stream NO_HANDLER after ${Date.now() - t0} ms`);

    const [inv, st] = await Promise.all([
      f.caller.run({ op: 'invoke', target: 'nest.nothing', payload: {}, timeout: 0.5 }),
      f.caller.run({ op: 'stream', target: 'nest.nothing', payload: {}, timeout: 0.5 }),
    ]);
    for (const { done } of [inv, st]) {
      assert.equal(done.outcome, 'raised');
      assert.equal(done.error, 'TimeoutError', 'upstream raises asyncio.TimeoutError, not a NoHandlerError');
      assert.ok(done.elapsed_ms >= 480 && done.elapsed_ms < 1500, `upstream caller waited ${done.elapsed_ms} ms for a 500 ms timeout`);
    }
    assert.equal(st.done.message, 'bus: stream overall timeout');
    await assertCleanWire(f);
    for (const m of f.sniffer.messages.filter((x) => /\.invoke\.nest\.nothing$/.test(x.subject))) {
      assert.equal(m.reply, undefined, 'no NATS reply subject on an upstream request, so no no-responders status');
      assert.deepEqual(sentTo(f, m.envelope!.reply_to as string), [], 'nothing was sent to the upstream caller');
    }
  });

  it('deadline, ours → Python: invoke and stream end with AGENT_TIMEOUT at our timeout; the upstream handlers ignore acp.deadline, run to their end, and their late frames are dropped', async (t) => {
    const f = await setup(t, { server: true });
    const t0 = Date.now();
    const invoke = f.bus.invoke('py.slow', { ms: 900 }, { timeout: 300 }).then(
      () => assert.fail('py.slow must time out'),
      (e: unknown) => ({ e, ms: Date.now() - t0 }),
    );
    const streamed: Wire[] = [];
    const stream = (async () => {
      for await (const frame of f.bus.stream('py.ticker', { count: 16, interval_ms: 50 }, { timeout: 300 })) streamed.push(frame);
    })().then(
      () => assert.fail('py.ticker must time out'),
      (e: unknown) => ({ e, ms: Date.now() - t0 }),
    );
    for (const [what, r] of [
      ['invoke', await invoke],
      ['stream', await stream],
    ] as const) {
      assert.ok(isCode('AGENT_TIMEOUT')(r.e), `${what}: ${String(r.e)}`);
      assert.ok(r.ms >= 290 && r.ms < 800, `${what}: AGENT_TIMEOUT after ${r.ms} ms for a 300 ms timeout`);
    }
    assert.ok(streamed.length >= 2 && streamed.length < 12, `${streamed.length} frames before the deadline`);
    const req = (await f.server.waitFor((l) => l.type === 'request' && l.target === 'py.slow')).envelope as Wire;
    assert.ok(Math.abs(req.metadata['acp.deadline'] - (t0 + 300)) < 200, 'the request carried our deadline');
    const [slow, ticker] = await Promise.all([
      f.server.waitFor((l) => l.type === 'slow_done', 5000),
      f.server.waitFor((l) => l.type === 'ticker_done', 5000),
    ]);
    assert.ok(slow.elapsed_ms >= 880, `the Python invoke handler ran its full ${slow.elapsed_ms} ms: it was not told of the deadline`);
    assert.equal(ticker.sent, 16, 'the Python stream handler sent every delta');
    await until(() => sentTo(f, req.reply_to).length === 1, 5000, 'the late invoke reply');
    // The invoke's reply and the stream's frames not read before the deadline (started + 16 deltas + final), less one
    // that may have arrived unread just before it.
    const framesSent = 18;
    await until(() => f.bus.stats.lateReplies >= 1 + framesSent - streamed.length - 1, 5000, 'the late frames, dropped');
    await assertCleanWire(f);
    // Neither target ever named `cancel`: no cancel frame went out, on its control subject or as a broadcast.
    assert.deepEqual(
      f.sniffer.messages.filter((m) => m.envelope?.event_type === 'acp.control.cancel').map((m) => m.subject),
      [],
    );
  });

  it('deadline, Python → ours: invoke and stream of the upstream caller end at its own timeout (TimeoutError); it sends no deadline, so our handlers are not aborted and answer into closed inboxes', async (t) => {
    const f = await setup(t, { caller: true });
    const invoked = deferred<{ aborted: boolean; deadline?: number; ms: number }>();
    const streamed = deferred<{ aborted: boolean; deadline?: number; sent: number }>();
    const subs = [
      f.bus.handleInvoke('nest.slow', async (p: { ms: number }, ctx) => {
        const t0 = Date.now();
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, p.ms);
          ctx.signal.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve();
          });
        });
        invoked.resolve({ aborted: ctx.signal.aborted, deadline: ctx.deadline, ms: Date.now() - t0 });
        return 'slept';
      }),
      f.bus.handleStream('nest.ticker', async function* (p: { count: number }, ctx) {
        let sent = 0;
        try {
          for (let i = 0; i < p.count; i++) {
            yield `t${i} `;
            sent++;
            await new Promise((r) => setTimeout(r, 50));
          }
        } finally {
          streamed.resolve({ aborted: ctx.signal.aborted, deadline: ctx.deadline, sent });
        }
      }),
    ];
    await Promise.all(subs.map((s) => s.ready));
    const [inv, st] = await Promise.all([
      f.caller.run({ op: 'invoke', target: 'nest.slow', payload: { ms: 900 }, timeout: 0.3 }),
      f.caller.run({ op: 'stream', target: 'nest.ticker', payload: { count: 16 }, timeout: 0.3 }),
    ]);
    for (const { done } of [inv, st]) {
      assert.equal(done.outcome, 'raised');
      assert.equal(done.error, 'TimeoutError');
      assert.ok(done.elapsed_ms >= 290 && done.elapsed_ms < 800, `upstream ${done.op} timed out after ${done.elapsed_ms} ms`);
    }
    assert.equal(st.done.message, 'bus: stream overall timeout');
    assert.ok(st.frames.length >= 2, `${st.frames.length} frames before its deadline`);
    const h = await invoked.promise;
    assert.equal(h.aborted, false, 'nothing told our invoke handler that the caller had given up');
    assert.equal(h.deadline, undefined);
    assert.ok(h.ms >= 880, `our invoke handler ran ${h.ms} ms`);
    assert.deepEqual(await streamed.promise, { aborted: false, deadline: undefined, sent: 16 }, 'our stream handler ran to its end');
    const req = f.sniffer.envelopes(/\.invoke\.nest\.slow$/)[0];
    await until(() => sentTo(f, req.reply_to as string).length === 1, 5000, 'our late reply on the wire');
    await assertCleanWire(f);
  });

  it('stream cancelled by our caller: our call ends at once; upstream has no cancellation, so no cancel frame is sent, the Python handler runs to completion; its later frames are dropped', async (t) => {
    const f = await setup(t, { server: true });
    const call = f.bus.stream('py.ticker', { count: 12, interval_ms: 40 }, { timeout: 10_000 });
    const got: Wire[] = [];
    for await (const frame of call) {
      got.push(frame);
      if (got.length === 3) break; // started and two deltas, then we leave: cancel
    }
    const req = (await f.server.waitFor((l) => l.type === 'request' && l.target === 'py.ticker')).envelope as Wire;
    const done = await f.server.waitFor((l) => l.type === 'ticker_done', 5000);
    assert.equal(done.sent, 12, 'the Python handler sent every delta');
    assert.equal(f.server.where((l) => l.type === 'ticker_cancelled').length, 0, 'it never saw a cancellation');
    await until(() => f.bus.stats.lateReplies >= 8, 5000, 'the frames after our cancel');
    // Its started frame named no `cancel`: no cancel frame went out at all (none could reach it).
    const cancels = f.sniffer.messages.filter((m) => m.envelope?.event_type === 'acp.control.cancel');
    assert.deepEqual(cancels, [], `no cancel for request ${req.event_id}`);
    await assertCleanWire(f);
  });

  it('stream cancelled by the upstream caller (it leaves the loop and closes its inbox): our handler is not told (no cancel extension, no liveness probes for upstream calls) and runs to completion', async (t) => {
    const f = await setup(t, { caller: true, bus: { livenessInterval: 100 } });
    const handled = deferred<{ aborted: boolean; sent: number }>();
    const sub = f.bus.handleStream('nest.ticker', async (p: { count: number }, ctx) => {
      let sent = 0;
      try {
        for (let i = 0; i < p.count; i++) {
          await ctx.writer.delta(`t${i} `);
          sent++;
          await new Promise((r) => setTimeout(r, 40));
        }
      } finally {
        handled.resolve({ aborted: ctx.signal.aborted, sent });
      }
      return { sent };
    });
    await sub.ready;
    const { done, frames } = await f.caller.run({ op: 'stream', target: 'nest.ticker', payload: { count: 12 }, stop_after: 3 });
    assert.equal(done.outcome, 'stopped');
    assert.deepEqual(
      frames.map((l) => l.envelope.event_type),
      ['agent.response.started', 'agent.response.delta', 'agent.response.delta'],
    );
    const h = await handled.promise;
    assert.deepEqual(h, { aborted: false, sent: 12 }, 'our handler ran to its end for a caller that had left');
    await assertCleanWire(f);
    const pings = f.sniffer.messages.filter((m) => m.envelope?.event_type === 'acp.control.ping');
    assert.deepEqual(pings, [], 'no liveness probe was sent to the upstream caller');
  });

  it('a slow Python stream consumed by our stream caller with a 2-frame flow-control window, and a fast one read slowly: every frame arrives in order, no credit frame is sent (upstream has no flow control), no BACKPRESSURE_DROP', async (t) => {
    const f = await setup(t, { server: true });
    const slow = f.bus.stream('py.ticker', { count: 15, interval_ms: 20 }, { window: 2 });
    const slowFrames: Wire[] = [];
    for await (const frame of slow) slowFrames.push(frame);
    assert.equal(slowFrames.length, 17);
    assert.deepEqual(
      slowFrames.map((e) => e.seq ?? 0),
      [...Array(17).keys()],
    );
    assert.deepEqual(slow.final?.payload, { result: { sent: 15 } });

    // A burst of 600 deltas from upstream (no flow control) against a window of 4 and a consumer that yields to the
    // event loop now and then: everything buffered within maxBufferedBytes, nothing lost.
    const fast = f.bus.stream('py.words', { count: 600 }, { window: 4 });
    const deltas: string[] = [];
    let n = 0;
    for await (const frame of fast) {
      if (frame.event_type === 'agent.response.delta') deltas.push((frame.payload as { delta: string }).delta);
      if (++n % 50 === 0) await new Promise((r) => setImmediate(r));
    }
    assert.equal(deltas.length, 600);
    assert.deepEqual(
      deltas,
      Array.from({ length: 600 }, (_, i) => `w${i} `),
    );
    assert.deepEqual(fast.final?.payload, { result: { words: 600 } });
    await assertCleanWire(f);
    assert.deepEqual(
      f.sniffer.messages.filter((m) => String(m.envelope?.event_type).startsWith('acp.control.')),
      [],
      'no credit (or any control) frame anywhere',
    );
  });

  it('payload above max_payload (16 KiB server), Python → ours: our oversize reply or delta becomes an INVALID_REQUEST error frame, never a chunk stub; upstream refuses an oversize request itself (MaxPayloadError), and an oversize upstream reply is lost (our caller times out)', async (t) => {
    const f = await setup(t, { maxPayload: 16 * 1024, server: true, caller: true });
    const big = 'x'.repeat(32 * 1024);
    let bigCalls = 0;
    const subs = [
      f.bus.handleInvoke('nest.big', () => {
        bigCalls++;
        return big;
      }),
      f.bus.handleStream('nest.bigstream', async function* () {
        yield 'small ';
        yield big;
        return 'never';
      }),
    ];
    await Promise.all(subs.map((s) => s.ready));

    const inv = await f.caller.run({ op: 'invoke', target: 'nest.big', payload: {} });
    assert.equal(inv.done.outcome, 'reply');
    assert.equal(inv.done.envelope.event_type, 'agent.response.error');
    assert.equal(inv.done.envelope.payload.code, 'INVALID_REQUEST');
    assert.match(
      inv.done.envelope.payload.message,
      /exceeds the NATS max_payload \(16384 bytes\) and the receiver does not support chunking/,
    );
    assert.ok(inv.done.elapsed_ms < 1000, `the upstream caller was answered after ${inv.done.elapsed_ms} ms`);

    const st = await f.caller.run({ op: 'stream', target: 'nest.bigstream', payload: {} });
    assert.equal(st.done.outcome, 'end');
    const frames = st.frames.map((l) => l.envelope as Wire);
    assert.deepEqual(
      frames.map((e) => [e.event_type, e.seq ?? 0]),
      [
        ['agent.response.started', 0],
        ['agent.response.delta', 1],
        ['agent.response.error', 2],
      ],
    );
    assert.equal(frames[2].payload.code, 'INVALID_REQUEST');

    // Upstream (nats-py) refuses to publish an oversize request: it raises at once, nothing reaches us.
    bigCalls = 0;
    const pyBig = await f.caller.run({ op: 'invoke', target: 'nest.big', payload_bytes: 32 * 1024 });
    assert.equal(pyBig.done.outcome, 'raised');
    assert.equal(pyBig.done.error, 'MaxPayloadError');
    assert.equal(bigCalls, 0);

    // An upstream responder whose reply is oversize logs the failed publish and sends nothing: we wait for our deadline.
    const t0 = Date.now();
    await assert.rejects(f.bus.invoke('py.big', { bytes: 32 * 1024 }, { timeout: 600 }), isCode('AGENT_TIMEOUT'));
    assert.ok(Date.now() - t0 >= 590);
    const warning = await f.server.waitFor((l) => l.type === 'log' && /reply publish failed/.test(l.message));
    assert.equal(warning.level, 'WARNING');
    await assertCleanWire(f);
  });

  it('payload above max_payload, ours → Python: an oversize request fails at once with INVALID_REQUEST (the target never showed the chunk extension) and never reaches the Python peer as a chunk stub', async (t) => {
    const f = await setup(t, { maxPayload: 16 * 1024, server: true });
    const t0 = Date.now();
    const err = await f.bus.invoke('py.echo', 'x'.repeat(32 * 1024), { timeout: 1000 }).then(
      () => assert.fail('an oversize request to an upstream peer must fail'),
      (e: unknown) => e as BusError,
    );
    const ms = Date.now() - t0;
    await f.sniffer.flush();
    const stubs = f.sniffer.messages.filter((m) => m.headers && /\.invoke\.py\.echo$/.test(m.subject));
    const pyLog = f.server.where((l) => l.type === 'log').map((l) => l.message);
    assert.equal(
      err.code,
      'INVALID_REQUEST',
      `got ${err.code} after ${ms} ms; ${stubs.length} chunk stub(s) went to Python, which logged: ${pyLog.join(' | ')}`,
    );
    assert.match(err.message, /max_payload/);
    assert.ok(ms < 500, `refused after ${ms} ms`);
    await assertCleanWire(f);
  });

  it('payload above max_payload, ours → Python: an oversize event is refused with INVALID_REQUEST (chunkEvents is off) and never reaches a Python subscriber as a chunk stub', async (t) => {
    const f = await setup(t, { maxPayload: 16 * 1024, server: true });
    let error: unknown;
    try {
      await f.bus.publish('orders.created', 'x'.repeat(32 * 1024));
    } catch (e) {
      error = e;
    }
    // A small event after it, on the same connection: once Python has it, it has seen (or dropped) the big one.
    await f.bus.publish('orders.sentinel', {});
    await f.server.waitFor((l) => l.type === 'event' && l.envelope.event_type === 'orders.sentinel');
    const pyLog = f.server.where((l) => l.type === 'log').map((l) => l.message);
    assert.ok(isCode('INVALID_REQUEST')(error), `publish gave ${String(error)}; Python logged: ${pyLog.join(' | ')}`);
    await assertCleanWire(f);
  });

  it("tenant routing differs: upstream picks the subject from each envelope's tenant_id, we from the bus's tenant option", async (t) => {
    const f = await setup(t, { server: true, caller: true });
    const sub = f.bus.handleInvoke('nest.echo', (p) => p);
    await sub.ready;
    // An upstream call with tenant_id "globex" goes to acp.v1.globex.invoke.…, which our "acme" bus does not serve.
    const { done } = await f.caller.run({ op: 'invoke', target: 'nest.echo', payload: {}, fields: { tenant_id: 'globex' }, timeout: 0.4 });
    assert.equal(done.outcome, 'raised');
    assert.equal(done.error, 'TimeoutError');
    assert.equal(f.sniffer.messages.filter((m) => m.subject === 'acp.v1.globex.invoke.nest.echo').length, 1);
    // Our call with tenant_id "globex" stays on our bus's scope, and the upstream "acme" handler serves it.
    const reply = await f.bus.invokeEnvelope('py.echo', {}, { tenant_id: 'globex' });
    assert.equal(reply.tenant_id, 'globex');
    const req = await f.server.waitFor((l) => l.type === 'request' && l.target === 'py.echo');
    assert.equal(req.envelope.tenant_id, 'globex');
    assert.equal(f.sniffer.messages.filter((m) => m.subject === `acp.v1.${TENANT}.invoke.py.echo`).length, 1);
    await assertCleanWire(f);
  });
});

@Module({})
class InteropBusModule {}

describe('upstream example bridge configurations (test/interop/upstream-examples)', () => {
  const root = new URL('../../../', import.meta.url).pathname;
  const dir = join(root, 'test/interop/upstream-examples');
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  const blobIds = new Map([...readme.matchAll(/^\| `([^`]+)` \| `[^`]+` \| `([0-9a-f]{40})` \|$/gm)].map((m) => [m[1], m[2]]));
  const files = readdirSync(dir)
    .filter((n) => /\.(ya?ml|json)$/.test(n) && !n.startsWith('.'))
    .sort();

  it('are the four documents upstream ships (sdk/python/examples/*.yaml, *.json), byte-identical to upstream', () => {
    assert.deepEqual(files, ['matrix_bridge.yaml', 'mcp_bridge.json', 'mcp_bridge.yaml', 'mcp_bridge_http.yaml']);
    for (const name of files) {
      const bytes = readFileSync(join(dir, name));
      const id = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
      assert.equal(id, blobIds.get(name), `${name} is byte-identical to upstream's (git blob id in README.md)`);
    }
  });

  it('each loads unchanged in buildBridges and in BridgeModule (built, not started): matrix_event and mcp_tool (stdio and streamable_http); no key is refused', async () => {
    const built = new Map<string, Bridge[]>();
    for (const name of files) {
      const bridges = buildBridges({ config: join(dir, name), env: {} });
      built.set(name, bridges);
      const bus = new BusClient(new MemoryTransport(), { agentId: 'bridges' });
      const busModule: DynamicModule = {
        module: InteropBusModule,
        global: true,
        providers: [{ provide: BusClient, useValue: bus }],
        exports: [BusClient],
      };
      const mod = await Test.createTestingModule({
        imports: [busModule, BridgeModule.forRoot({ config: join(dir, name), env: {} })],
      }).compile();
      assert.deepEqual(
        mod.get(BridgeManager).bridges.map((b) => [b.name, b.type]),
        bridges.map((b) => [b.name, b.type]),
        `${name} through BridgeModule`,
      );
      await mod.close();
    }
    const config = (name: string) => (built.get(name)![0] as unknown as { config: Record<string, any> }).config;
    assert.deepEqual(
      [...built].map(([name, bs]) => [name, bs.map((b) => [b.name, b.type])]),
      [
        ['matrix_bridge.yaml', [['matrix-main', 'matrix_event']]],
        ['mcp_bridge.json', [['mcp-fs', 'mcp_tool']]],
        ['mcp_bridge.yaml', [['mcp-fs', 'mcp_tool']]],
        ['mcp_bridge_http.yaml', [['mcp-http', 'mcp_tool']]],
      ],
    );
    // What each upstream key became.
    const matrix = config('matrix_bridge.yaml');
    assert.equal(matrix.homeserverUrl, 'https://matrix.example.com');
    assert.deepEqual(matrix.roomIds, ['!roomid:example.com']);
    assert.equal(matrix.syncTimeoutMs, 30_000, 'sync_timeout is in seconds');
    assert.equal(matrix.reconnectDelayMs, 2000);
    assert.equal(matrix.initialSyncBehavior, 'skip');
    assert.equal(matrix.inboundMessageEvent, 'matrix.message.received');
    assert.equal(matrix.outboundMessageEvent, 'matrix.message.send');
    assert.equal(matrix.sessionStrategy, 'room');
    for (const name of ['mcp_bridge.json', 'mcp_bridge.yaml']) {
      const mcp = config(name);
      assert.equal(mcp.transport, 'stdio');
      assert.equal(mcp.command, 'npx');
      assert.deepEqual(mcp.args, ['-y', '@modelcontextprotocol/server-filesystem', '/tmp']);
      assert.deepEqual(mcp.env, { NODE_ENV: 'production' });
      assert.equal(mcp.target_prefix, 'mcp-fs', 'target_prefix from mappings');
      assert.equal(mcp.timeout_ms, 10_000, 'timeout is in seconds');
    }
    assert.deepEqual(config('mcp_bridge.json'), config('mcp_bridge.yaml'), 'the JSON and YAML documents mean the same');
    const http = config('mcp_bridge_http.yaml');
    assert.equal(http.transport, 'streamable_http');
    assert.equal(http.url, 'http://localhost:8000/mcp', 'http_url');
    assert.deepEqual(http.headers, { 'X-Custom-Header': 'openagentio' });
    assert.equal(http.target_prefix, 'mcp-http');
    assert.equal(http.timeout_ms, 30_000);
  });
});
