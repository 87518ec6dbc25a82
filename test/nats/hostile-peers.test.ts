import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connect, headers, type NatsConnection } from '@nats-io/transport-node';
import { BusClient, createReply, EventTypes, NatsTransport, type BusError, type Envelope } from '@openagentio/nestjs';
import { createRequest } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { MetaKeys } from '@openagentio/nestjs/internal/protocol/extensions.js';
import { deferred, RecordingLogger, until } from '../support/bus-fixture.js';
import { NatsServer } from '../support/nats-server.js';
import { heapAfterGc } from '../support/heap.js';

// Hostile participants on the same NATS account (issue 13 points 1, 2, 3 and 5): each test fails against the code
// before the fix (a disconnected agent, unbounded memory, a chunk stub to an upstream peer).

const json = (env: unknown): string => JSON.stringify(env);

describe('hostile peers on a real nats-server', () => {
  let server: NatsServer;
  let victim: BusClient;
  let caller: BusClient;
  let raw: NatsConnection;
  const statuses: string[] = [];
  let release = deferred<void>();

  before(async () => {
    server = await NatsServer.start({ maxPayload: 64 * 1024 });
    victim = new BusClient(new NatsTransport({ servers: server.url, name: 'victim' }), {
      agentId: 'victim',
      logger: new RecordingLogger(),
    });
    caller = new BusClient(new NatsTransport({ servers: server.url, name: 'caller' }), { agentId: 'caller', maxBufferedFrames: 500 });
    await victim.connect();
    await caller.connect();
    victim.transport.onStatus((s) => statuses.push(s));
    await victim.handleInvoke('victim.echo', (p: unknown) => p).ready;
    await victim.handleInvoke('victim.slow', async () => {
      await release.promise;
      return 'finished';
    }).ready;
    raw = await connect({ servers: server.url });
  });

  after(async () => {
    await raw?.close();
    await caller?.close();
    await victim?.close();
    await server?.stop();
  });

  /** Subscribes a raw inbox and resolves with the first `n` messages on it. */
  function rawInbox(n = 1): { subject: string; messages: Promise<Array<{ env?: Envelope; chunked: boolean }>> } {
    const subject = `_INBOX.attacker.${Math.random().toString(36).slice(2)}`;
    const got: Array<{ env?: Envelope; chunked: boolean }> = [];
    const done = deferred<Array<{ env?: Envelope; chunked: boolean }>>();
    raw.subscribe(subject, {
      callback: (_err, msg) => {
        const chunked = !!msg.headers?.has('Acp-Chunk-Id');
        got.push({ env: msg.data.length ? (JSON.parse(new TextDecoder().decode(msg.data)) as Envelope) : undefined, chunked });
        if (got.length === n) done.resolve(got);
      },
    });
    return { subject, messages: done.promise };
  }

  it('a reply_to (or chunk source) over 4 KB is refused, and the agent keeps its connection and its calls in flight', async () => {
    release = deferred<void>();
    const inFlight = caller.invoke('victim.slow', {}, { timeout: 20_000 });
    const target = victim.subjects.invoke('victim.echo');
    const invalidBefore = victim.stats.invalidMessages;

    // No usable reply at all: dropped (counted), never published to.
    const huge = createRequest({ x: 1 }, { from: 'attacker', to: 'victim.echo', reply_to: `_INBOX.${'x'.repeat(5000)}` });
    raw.publish(target, json(huge));
    // An oversize reply_to with a usable NATS reply: answered INVALID_REQUEST there.
    const inbox = rawInbox(2);
    raw.publish(target, json(createRequest({ x: 2 }, { from: 'attacker', to: 'victim.echo', reply_to: `_INBOX.${'y'.repeat(5000)}` })), {
      reply: inbox.subject,
    });
    // A chunk stub whose Acp-Chunk-Source is oversize: malformed, never pulled from.
    const h = headers();
    h.set('Acp-Chunk-Id', 'forged');
    h.set('Acp-Chunk-Count', '2');
    h.set('Acp-Chunk-Bytes', '4096');
    h.set('Acp-Chunk-Source', `_INBOX.${'z'.repeat(5000)}`);
    raw.publish(target, new Uint8Array(0), { reply: inbox.subject, headers: h });
    await raw.flush();

    const [first, second] = await inbox.messages;
    assert.equal(first.env?.event_type, EventTypes.ERROR);
    assert.equal((first.env?.payload as { code: string }).code, 'INVALID_REQUEST');
    assert.match((first.env?.payload as { message: string }).message, /unusable reply_to \(5007 characters/);
    assert.equal((second.env?.payload as { code: string }).code, 'INVALID_REQUEST');
    assert.match((second.env?.payload as { message: string }).message, /malformed chunked message/);

    release.resolve();
    assert.equal(await inFlight, 'finished', 'the call in flight through the attack completed');
    assert.deepEqual(await caller.invoke('victim.echo', { after: true }), { after: true });
    assert.ok(!statuses.includes('disconnected'), `the agent lost its connection: ${statuses.join(', ')}`);
    assert.ok(victim.stats.invalidMessages >= invalidBefore + 3);
  });

  it('a dead-lettered event whose event_type makes an oversize subject is not published', async () => {
    const failed = deferred<void>();
    await victim.subscribe('hostile.events.>', () => {
      failed.resolve();
      throw new Error('handler fails');
    }).ready;
    const dropped = victim.stats.droppedMessages;
    const env = createRequest(undefined, { from: 'attacker' }) as Envelope;
    env.event_type = `hostile.${'e'.repeat(5000)}`;
    raw.publish(victim.subjects.event('hostile.events.one'), json(env));
    await failed.promise;
    // The handler failed synchronously; its dead letter is decided in the same turn of the event loop.
    await new Promise((r) => setImmediate(r));
    assert.equal(victim.stats.droppedMessages, dropped + 1);
    assert.deepEqual(await caller.invoke('victim.echo', 'still here'), 'still here');
    assert.ok(!statuses.includes('disconnected'));
  });

  it('chunks that add up to more than the stub announced are refused, not held', async () => {
    const target = victim.subjects.invoke('victim.echo');
    raw.subscribe('_INBOX.liar', {
      callback: (_e, msg) => {
        // Answers the pull with chunks far larger than announced.
        for (let i = 0; i < 2; i++) {
          const h = headers();
          h.set('Acp-Chunk-Id', 'liar');
          h.set('Acp-Chunk-Index', String(i));
          msg.respond(new Uint8Array(8192), { headers: h });
        }
      },
    });
    const inbox = rawInbox(1);
    const h = headers();
    h.set('Acp-Chunk-Id', 'liar');
    h.set('Acp-Chunk-Count', '2');
    h.set('Acp-Chunk-Bytes', '2048');
    h.set('Acp-Chunk-Source', '_INBOX.liar');
    raw.publish(target, new Uint8Array(0), { reply: inbox.subject, headers: h });
    const [answer] = await inbox.messages;
    assert.match((answer.env?.payload as { message: string }).message, /exceed the announced 2048 bytes/);
  });

  it('100 forged chunk stubs announcing huge messages leave the agent serving, with bounded memory', async () => {
    const target = victim.subjects.invoke('victim.echo');
    // The pulls go to a subject the attacker holds and never answers, so every stub would wait for its chunks.
    raw.subscribe('_INBOX.sink.>', { callback: () => undefined });
    const before = heapAfterGc();
    const inbox = rawInbox(100);
    for (let i = 0; i < 100; i++) {
      const h = headers();
      h.set('Acp-Chunk-Id', `forged-${i}`);
      h.set('Acp-Chunk-Count', String(64 * 1024 * 1024));
      h.set('Acp-Chunk-Bytes', String(64 * 1024 * 1024));
      h.set('Acp-Chunk-Source', `_INBOX.sink.${i}`);
      raw.publish(target, new Uint8Array(0), { reply: inbox.subject, headers: h });
    }
    await raw.flush();
    const answers = await inbox.messages;
    const codes = answers.map((a) => (a.env?.payload as { code: string }).code);
    assert.ok(
      codes.every((c) => c === 'INVALID_REQUEST'),
      `forged counts are refused at once: ${[...new Set(codes)].join(',')}`,
    );
    const grown = heapAfterGc() - before;
    assert.ok(grown < 32 * 1024 * 1024, `heap grew by ${(grown / 1e6).toFixed(1)} MB`);
    assert.deepEqual(await caller.invoke('victim.echo', { ok: 1 }), { ok: 1 });

    // 70 plausible stubs whose chunks never come: 64 wait (the per-connection limit), the other 6 are refused at once.
    const sane = rawInbox(6);
    for (let i = 0; i < 70; i++) {
      const h = headers();
      h.set('Acp-Chunk-Id', `sane-${i}`);
      h.set('Acp-Chunk-Count', '64');
      h.set('Acp-Chunk-Bytes', String(1024 * 1024));
      h.set('Acp-Chunk-Source', `_INBOX.sink.s${i}`);
      raw.publish(target, new Uint8Array(0), { reply: sane.subject, headers: h });
    }
    await raw.flush();
    const refused = await sane.messages;
    assert.deepEqual(
      refused.map((a) => (a.env?.payload as { code: string }).code),
      Array(6).fill('BACKPRESSURE_DROP'),
      'past the pending limit, stubs are refused with BACKPRESSURE_DROP',
    );
    assert.deepEqual(await caller.invoke('victim.echo', { ok: 2 }), { ok: 2 });
  });

  it('a responder that announces flow control but ignores the window cannot make the caller buffer without bound', async () => {
    const subject = caller.subjects.invoke('evil.firehose');
    const sent = deferred<void>();
    raw.subscribe(subject, {
      callback: (_e, msg) => {
        const request = JSON.parse(new TextDecoder().decode(msg.data)) as Envelope;
        const reply = request.reply_to!;
        raw.publish(
          reply,
          json(
            createReply(
              request,
              EventTypes.STARTED,
              { meta: {} },
              { seq: 0, metadata: { [MetaKeys.EXT]: 'flow,cancel', [MetaKeys.CONTROL]: '_INBOX.evil.ctl' } },
            ),
          ),
        );
        for (let i = 1; i <= 3000; i++) raw.publish(reply, json(createReply(request, EventTypes.DELTA, { delta: 'x' }, { seq: i })));
        sent.resolve();
      },
    });
    // The caller gives up by cancelling on the control subject the responder announced: that is the event to wait for.
    const cancelled = deferred<string>();
    raw.subscribe('_INBOX.evil.ctl', {
      callback: (_e, msg) => cancelled.resolve((JSON.parse(new TextDecoder().decode(msg.data)) as Envelope).event_type),
    });
    await raw.flush();
    const stream = caller.stream('evil.firehose', {}, { window: 16 });
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value?.event_type, EventTypes.STARTED);
    await sent.promise;
    // The consumer does not read on: 3,000 frames arrive for a window of 16, past the caller's bound of 500.
    assert.equal(await cancelled.promise, 'acp.control.cancel');
    await assert.rejects(
      (async () => {
        for (;;) if ((await it.next()).done) break;
      })(),
      (err: BusError) => err.code === 'BACKPRESSURE_DROP' && /more than 500 frames the consumer had not asked for/.test(err.message),
    );
  });

  it('frames forged onto a caller inbox for another correlation_id are dropped; the real reply still settles the call', async () => {
    const open = deferred<void>();
    await victim.handleInvoke('victim.gate', async () => {
      await open.promise;
      return 'real';
    }).ready;
    // The attacker sees the request subject (so it learns the reply inbox) but forges with its own ids.
    const sniffed = deferred<string>();
    const spy = raw.subscribe('acp.v1.invoke.victim.gate', { callback: (_e, m) => sniffed.resolve(m.reply ?? '') });
    await raw.flush();
    const call = caller.invoke('victim.gate', {}, { timeout: 10_000 });
    const inbox = await sniffed.promise;
    assert.ok(inbox, 'the request carried a reply subject');
    const stranger = createRequest({}, { from: 'attacker', to: 'victim.gate' });
    const before = caller.stats.foreignFrames;
    raw.publish(inbox, json(createReply(stranger, EventTypes.DELTA, { delta: 'injected' }, { from: 'attacker', seq: 1 })));
    raw.publish(inbox, json(createReply(stranger, EventTypes.FINAL, { result: 'forged' }, { from: 'attacker', seq: 2, isFinal: true })));
    await raw.flush();
    await until(() => caller.stats.foreignFrames >= before + 2, 5000, 'forged frames counted');
    open.resolve();
    assert.equal(await call, 'real');
    spy.unsubscribe();
  });

  it('a request the responder cannot read is answered with an error frame without correlation_id, which its caller accepts', async () => {
    const inbox = rawInbox(1);
    await raw.flush();
    raw.publish('acp.v1.invoke.victim.echo', '{"spec_version":', { reply: inbox.subject });
    const [reply] = await inbox.messages;
    assert.equal(reply.env?.event_type, 'agent.response.error');
    assert.equal(reply.env?.correlation_id, undefined);
    assert.equal((reply.env?.payload as { code: string }).code, 'INVALID_REQUEST');
  });
});
