import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusClient, BusError, type Envelope, type HandlerContext, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';
import { schemaProblems } from '@openagentio/nestjs/internal/protocol/envelope-validator.js';
import { deferred, RecordingLogger } from '../support/bus-fixture.js';

// The in-process fast path of the memory transport (DirectCall): an invoke handed straight to the handler when it
// is the only receiver. The shared suite (test/bus/*.test.ts, fixture "memory (object copies, direct calls)") runs every
// invoke behaviour through it; these tests pin what is particular to it: when it is taken, and that nothing a
// handler or caller can observe differs from the message path.
describe('in-process direct calls (memory transport)', () => {
  let broker: MemoryBroker;
  const buses: BusClient[] = [];
  const bus = async (
    agentId: string,
    validate = false,
    options: Partial<ConstructorParameters<typeof BusClient>[1]> = {},
  ): Promise<BusClient> => {
    const b = new BusClient(new MemoryTransport({ broker, validate }), { agentId, logger: new RecordingLogger(), ...options });
    await b.connect();
    buses.push(b);
    return b;
  };

  before(() => {
    broker = new MemoryBroker();
  });
  after(async () => {
    for (const b of buses.splice(0)) await b.close();
  });

  it('is taken when the handler is the only receiver, and the handler sees the envelope the message path delivers', async () => {
    const server = await bus('direct-server');
    const caller = await bus('direct-caller', false, { tenant: undefined });
    const seen: Envelope[] = [];
    await server.handleInvoke('direct.echo', (p: unknown, ctx: HandlerContext) => {
      seen.push(ctx.envelope);
      return { got: p, session: ctx.session, trace: ctx.trace, deadline: ctx.deadline };
    }).ready;
    const options = {
      session_id: 's-1',
      user_id: 'ada',
      channel: 'web',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      tracestate: 'k=v',
      timeout: 5000,
    };
    const direct = await caller.invoke<{ got: unknown; session: object; trace: object; deadline: number }>(
      'direct.echo',
      { q: 1 },
      options,
    );
    assert.equal(caller.stats.directCalls, 1, 'served without messages');

    // The same call over a validating transport (always the message path) for comparison.
    const viaMessages = await bus('message-caller', true);
    const message = await viaMessages.invoke<typeof direct>('direct.echo', { q: 1 }, options);
    assert.equal(viaMessages.stats.directCalls, 0);

    assert.deepEqual(direct.got, { q: 1 });
    assert.deepEqual(direct.session, message.session);
    assert.deepEqual(direct.trace, message.trace);
    const [d, m] = seen;
    assert.deepEqual(schemaProblems(d), [], 'the lazily built request envelope is valid acp/1.0');
    assert.deepEqual(Object.keys(d), Object.keys(m), 'same fields in the same order');
    assert.deepEqual(Object.keys(d.metadata!), Object.keys(m.metadata!));
    for (const key of [
      'event_type',
      'frame_type',
      'from',
      'to',
      'session_id',
      'user_id',
      'channel',
      'traceparent',
      'trace_id',
      'span_id',
      'payload',
    ] as const) {
      assert.deepEqual(d[key], key === 'from' ? 'direct-caller' : m[key], key);
    }
    assert.equal(d.metadata!['acp.ext'], m.metadata!['acp.ext']);
    assert.equal(d.metadata!['acp.tracestate'], 'k=v');
    assert.equal(d.metadata!['acp.deadline'], direct.deadline, 'the envelope carries the deadline the handler runs under');
    assert.match(d.reply_to!, /^_INBOX\./);
  });

  it('copies both ways: neither side can touch the other side objects', async () => {
    const server = await bus('copy-server');
    const caller = await bus('copy-caller');
    let kept: { list: number[] } | undefined;
    await server.handleInvoke('direct.keep', (p: { list: number[] }) => {
      p.list.push(3);
      kept = p;
      return p;
    }).ready;
    const payload = { list: [1, 2] };
    const result = await caller.invoke<{ list: number[] }>('direct.keep', payload);
    assert.deepEqual(payload, { list: [1, 2] }, 'the handler mutated its own copy');
    assert.deepEqual(result, { list: [1, 2, 3] });
    result.list.push(4);
    assert.deepEqual(kept, { list: [1, 2, 3] }, 'the caller got its own copy of the result');
    assert.ok(caller.stats.directCalls >= 1);
  });

  it('a payload that cannot be encoded fails at once with a non-retryable CODEC_FAILURE, as on the message path', async () => {
    const server = await bus('bigint-server');
    const caller = await bus('bigint-caller');
    let ran = false;
    await server.handleInvoke('direct.bigint', () => (ran = true)).ready;
    await assert.rejects(
      caller.invoke('direct.bigint', { n: BigInt(1) }),
      (e: BusError) => e.code === 'CODEC_FAILURE' && !e.retryable && /BigInt/.test(e.message),
    );
    assert.equal(ran, false);
  });

  it('a wiretap on the subject forces the message path, so the tap sees the request', async () => {
    const server = await bus('tap-server');
    const caller = await bus('tap-caller');
    await server.handleInvoke('direct.tapped', () => 'ok').ready;
    const tapped: string[] = [];
    const tap = caller.transport.subscribe('acp.v1.invoke.direct.>', (m) => tapped.push(m.envelope!.event_type));
    const before = caller.stats.directCalls;
    assert.equal(await caller.invoke('direct.tapped'), 'ok');
    assert.equal(caller.stats.directCalls, before, 'not direct while someone else listens');
    assert.deepEqual(tapped, ['agent.message.received']);
    tap.unsubscribe();
    assert.equal(await caller.invoke('direct.tapped'), 'ok');
    assert.equal(caller.stats.directCalls, before + 1, 'direct again once the tap is gone');
  });

  it('replicas still take turns, and a replica with a handler-side retry policy keeps the message path', async () => {
    const a = await bus('rr-a');
    const b = await bus('rr-b');
    const caller = await bus('rr-caller');
    await a.handleInvoke('direct.rr', () => 'a').ready;
    await b.handleInvoke('direct.rr', () => 'b').ready;
    const got: string[] = [];
    for (let i = 0; i < 6; i++) got.push(await caller.invoke<string>('direct.rr'));
    assert.deepEqual(got, ['a', 'b', 'a', 'b', 'a', 'b']);

    const c = await bus('rr-c');
    await c.handleInvoke('direct.retrying', () => 'c', { retry: { attempts: 2 } }).ready;
    const before = caller.stats.directCalls;
    assert.equal(await caller.invoke('direct.retrying'), 'c');
    assert.equal(caller.stats.directCalls, before);
  });

  it('a caller that closes fails its calls and aborts their handlers (the caller is gone)', async () => {
    const server = await bus('gone-server');
    const caller = await bus('gone-caller');
    const started = deferred<void>();
    const aborted = deferred<unknown>();
    await server.handleInvoke('direct.hold', (_p, ctx: HandlerContext) => {
      started.resolve();
      ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
      return new Promise(() => undefined);
    }).ready;
    const call = caller.invoke('direct.hold', {}, { timeout: 10_000 });
    await started.promise;
    assert.equal(server.stats.requestsServed > 0 && caller.stats.directCalls > 0, true);
    await caller.close();
    await assert.rejects(call, (e: BusError) => e.code === 'TRANSPORT_FAILURE' && /closed/.test(e.message));
    const reason = (await aborted.promise) as BusError;
    assert.equal(reason.code, 'AGENT_UNAVAILABLE');
    assert.match(reason.message, /caller is gone/);
  });

  it('a responder that closes ends the handlers it runs with AGENT_UNAVAILABLE for their callers', async () => {
    const server = await bus('closing-server');
    const caller = await bus('closing-caller');
    const started = deferred<void>();
    await server.handleInvoke('direct.forever', () => {
      started.resolve();
      return new Promise(() => undefined);
    }).ready;
    const call = caller.invoke('direct.forever', {}, { timeout: 10_000 });
    await started.promise;
    await server.close();
    await assert.rejects(
      call,
      (e: BusError) => e.code === 'AGENT_UNAVAILABLE' && /shutting down/.test(e.message) && e.envelope?.from === 'closing-server',
    );
  });

  it("a handler's own timeout, tighter than the caller's, ends the call with the handler's deadline", async () => {
    const server = await bus('tight-server');
    const caller = await bus('tight-caller');
    const aborted = deferred<unknown>();
    await server.handleInvoke(
      'direct.tight',
      (_p, ctx: HandlerContext) => {
        ctx.signal.addEventListener('abort', () => aborted.resolve(ctx.signal.reason));
        return new Promise(() => undefined); // ignores its signal
      },
      { timeout: 30, concurrency: 1 },
    ).ready;
    const t0 = Date.now();
    await assert.rejects(
      caller.invoke('direct.tight', {}, { timeout: 10_000 }),
      (e: BusError) => e.code === 'AGENT_TIMEOUT' && /deadline of "direct.tight" exceeded/.test(e.message),
    );
    assert.ok(Date.now() - t0 < 5000);
    assert.equal(((await aborted.promise) as BusError).code, 'AGENT_TIMEOUT');
    // The slot of a handler that ignored its signal is free again.
    await assert.rejects(caller.invoke('direct.tight', {}, { timeout: 10_000 }), (e: BusError) => e.code === 'AGENT_TIMEOUT');
    assert.equal(server.stats.handlerErrors, 2);
  });
});
