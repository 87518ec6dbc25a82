import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { BusClient, BusError, decodeEnvelope, encodeEnvelope, NatsTransport } from '@openagentio/nestjs';
import { ChunkHeaders } from '@openagentio/nestjs/internal/transport/nats/chunking.js';
import { createRequest } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { NatsServer } from '../support/nats-server.js';

const quiet = { log() {}, warn() {}, error() {}, debug() {} };
const MAX_PAYLOAD = 64 * 1024;

/** A string of `n` characters that does not compress to anything trivial (multi-byte characters included). */
function bigText(n: number): string {
  const unit = 'abcdefghij0123456789-éü€😀 ';
  let s = '';
  while (s.length < n) s += unit;
  return s.slice(0, n);
}

describe('NATS chunking of payloads above max_payload', () => {
  let server: NatsServer;
  let caller: BusClient;
  let worker: BusClient;
  let raw: NatsConnection;

  before(async () => {
    server = await NatsServer.start({ maxPayload: MAX_PAYLOAD });
    // Every responder here is ours: chunk to every target without learning it first (the test above shows learning).
    caller = new BusClient(new NatsTransport({ servers: server.url, logger: quiet, maxMessageSize: 4 * 1024 * 1024 }), {
      agentId: 'caller',
      logger: quiet,
      chunkRequests: 'always',
    });
    worker = new BusClient(new NatsTransport({ servers: server.url, logger: quiet }), { agentId: 'worker', logger: quiet });
    await caller.connect();
    await worker.connect();
    raw = await connect({ servers: server.url });
    worker.handleInvoke('echo', (p: unknown) => p);
    worker.handleInvoke('size', (p: { text: string }) => p.text.length);
    worker.handleInvoke('make', (p: { n: number }) => bigText(p.n));
    worker.handleInvoke('quote', (p: { text: string }) => {
      throw new BusError('INVALID_REQUEST', `text is not allowed: ${p.text} (twice: ${p.text})`);
    });
    worker.handleStream('chunks', async function* (p: { n: number; count: number }) {
      for (let i = 0; i < p.count; i++) yield { i, text: bigText(p.n) };
      return 'done';
    });
    await worker.transport.flush();
  });

  after(async () => {
    await raw?.close();
    await caller?.close();
    await worker?.close();
    await server?.stop();
  });

  it('the server really has the small max_payload', () => {
    assert.equal((caller.transport as NatsTransport).maxPayload, MAX_PAYLOAD);
  });

  it('an oversize request to a target that has not shown the chunk extension fails at once, naming why; after one reply it goes chunked', async () => {
    const fresh = new BusClient(new NatsTransport({ servers: server.url, logger: quiet, maxMessageSize: 4 * 1024 * 1024 }), {
      agentId: 'fresh',
      logger: quiet,
    });
    await fresh.connect();
    try {
      const served = worker.stats.requestsServed;
      await assert.rejects(fresh.invoke('echo', { text: bigText(200 * 1024) }), (e: unknown) => {
        assert.ok(e instanceof BusError);
        assert.equal(e.code, 'INVALID_REQUEST');
        assert.match(e.message, /"echo" has not shown that it accepts chunked messages/);
        return true;
      });
      assert.equal(worker.stats.requestsServed, served, 'nothing reached the responder');
      // One small call: the reply names the responder's extensions, and the next big request goes chunked.
      assert.deepEqual(await fresh.invoke('echo', { n: 1 }), { n: 1 });
      assert.equal((await fresh.invoke<{ text: string }>('echo', { text: bigText(200 * 1024) })).text.length, 200 * 1024);
      // A stream's started frame teaches the same.
      await assert.rejects(fresh.invoke('size', { text: bigText(200 * 1024) }), { code: 'INVALID_REQUEST' });
      await fresh.stream('chunks', { n: 10, count: 1 }).result();
      await assert.rejects(fresh.invoke('size', { text: bigText(200 * 1024) }), { code: 'INVALID_REQUEST' }, 'per target');
    } finally {
      await fresh.close();
    }
  });

  it('sends a 1 MB request and receives a 1 MB reply', async () => {
    const text = bigText(1024 * 1024);
    const reply = await caller.invoke<{ text: string }>('echo', { text });
    assert.equal(reply.text.length, text.length);
    assert.equal(reply.text, text);
    assert.equal(await caller.invoke('size', { text }), text.length);
    const made = await caller.invoke<string>('make', { n: 1024 * 1024 });
    assert.equal(made, bigText(1024 * 1024));
  });

  it('streams frames that are each larger than max_payload, in order', async () => {
    const frames = [];
    for await (const f of caller.stream('chunks', { n: 200 * 1024, count: 4 })) frames.push(f);
    assert.deepEqual(
      frames.map((f) => f.event_type),
      ['agent.response.started', ...Array(4).fill('agent.response.delta'), 'agent.response.final'],
    );
    frames.slice(1, 5).forEach((f, i) => {
      const d = f.payload as { data?: { i: number; text: string }; delta?: { i: number; text: string } };
      const v = d.data ?? d.delta;
      assert.equal(v?.i, i);
      assert.equal(v?.text.length, 200 * 1024);
    });
  });

  it('a big request to a missing target is still NO_HANDLER at once', async () => {
    const t0 = Date.now();
    await assert.rejects(
      caller.invoke('nobody', { text: bigText(300 * 1024) }, { timeout: 5000 }),
      (e: unknown) => e instanceof BusError && e.code === 'NO_HANDLER',
    );
    assert.ok(Date.now() - t0 < 1000);
  });

  it('refuses a message above maxMessageSize with INVALID_REQUEST naming the limit', async () => {
    await assert.rejects(caller.invoke('echo', { text: bigText(5 * 1024 * 1024) }), (e: unknown) => {
      assert.ok(e instanceof BusError);
      assert.equal(e.code, 'INVALID_REQUEST');
      assert.match(e.message, /maxMessageSize 4194304 bytes/);
      return true;
    });
  });

  it('an oversize event (chunkEvents off) is refused naming both ways out: chunkEvents or a larger max_payload', async () => {
    await assert.rejects(
      async () => caller.publish('big.report', { text: bigText(300 * 1024) }),
      (e: unknown) => {
        assert.ok(e instanceof BusError);
        assert.equal(e.code, 'INVALID_REQUEST');
        assert.match(e.message, /exceeds the NATS max_payload/);
        assert.match(e.message, /set chunkEvents: true/);
        assert.match(e.message, /raise the server's max_payload/);
        return true;
      },
    );
  });

  it('chunks go only to the queue member that got the stub (replicas share one target)', async () => {
    const replica = new BusClient(new NatsTransport({ servers: server.url, logger: quiet }), { agentId: 'replica', logger: quiet });
    await replica.connect();
    try {
      replica.handleInvoke('echo', (p: unknown) => p);
      await replica.transport.flush();
      const text = bigText(150 * 1024);
      const results = await Promise.all(Array.from({ length: 10 }, () => caller.invoke<{ text: string }>('echo', { text })));
      for (const r of results) assert.equal(r.text, text);
    } finally {
      await replica.close();
    }
  });

  it('an upstream-style request (no acp.ext) never gets a chunked reply: an error frame instead', async () => {
    const inbox = `_INBOX.upstream${Date.now()}`;
    const replies: Array<{ headers: boolean; body: string }> = [];
    let resolve!: () => void;
    const got = new Promise<void>((r) => (resolve = r));
    raw.subscribe(inbox, {
      callback: (_err, m) => {
        replies.push({ headers: !!m.headers, body: m.string() });
        resolve();
      },
    });
    await raw.flush();
    const req = createRequest({ n: 200 * 1024 }, { from: 'py-agent', to: 'make', reply_to: inbox });
    raw.publish('acp.v1.invoke.make', encodeEnvelope(req));
    await got;
    assert.equal(replies.length, 1);
    assert.equal(replies[0].headers, false);
    const env = decodeEnvelope(replies[0].body);
    assert.equal(env.event_type, 'agent.response.error');
    assert.equal(env.correlation_id, req.event_id);
    assert.equal((env.payload as { code: string }).code, 'INVALID_REQUEST');
    assert.match((env.payload as { message: string }).message, /max_payload/);
  });

  it('an error reply too large for an upstream-style caller is that error cut short, never a chunk stub (and whole for our callers)', async () => {
    const inbox = `_INBOX.upstreamerr${Date.now()}`;
    const replies: Array<{ headers: boolean; body: string }> = [];
    let resolve!: () => void;
    const got = new Promise<void>((r) => (resolve = r));
    raw.subscribe(inbox, {
      callback: (_err, m) => {
        replies.push({ headers: !!m.headers, body: m.string() });
        resolve();
      },
    });
    await raw.flush();
    // A near-max_payload request whose handler refuses it with a message quoting it (as validators do).
    const req = createRequest({ text: 'q'.repeat(60_000) }, { from: 'py-agent', to: 'quote', reply_to: inbox });
    raw.publish('acp.v1.invoke.quote', encodeEnvelope(req));
    await got;
    assert.equal(replies.length, 1);
    assert.equal(replies[0].headers, false, 'no chunk stub');
    const env = decodeEnvelope(replies[0].body);
    assert.equal(env.event_type, 'agent.response.error');
    assert.equal(env.correlation_id, req.event_id);
    const p = env.payload as { code: string; message: string; cause?: Record<string, unknown> };
    assert.equal(p.code, 'INVALID_REQUEST', 'the handler error, not a transport error');
    assert.match(p.message, /^text is not allowed: .*… \(truncated\)$/s);
    assert.ok(p.message.length < 2000);
    assert.deepEqual(p.cause, { truncated: true });
    // A caller of ours negotiated chunking: it gets the whole error.
    await assert.rejects(caller.invoke('quote', { text: 'q'.repeat(60_000) }), (e: BusError) => {
      assert.equal(e.code, 'INVALID_REQUEST');
      assert.ok(e.message.length > 120_000);
      return true;
    });
  });

  it('a stub whose sender is gone fails on the receiver instead of hanging', async () => {
    const transport = worker.transport as NatsTransport;
    const received: Array<{ error?: BusError }> = [];
    let resolve!: () => void;
    const done = new Promise<void>((r) => (resolve = r));
    const sub = transport.subscribe('chunk.orphan', (m) => {
      received.push(m);
      resolve();
    });
    await transport.flush();
    const { headers } = await import('@nats-io/transport-node');
    const h = headers();
    h.set(ChunkHeaders.ID, 'x1');
    h.set(ChunkHeaders.COUNT, '2');
    h.set(ChunkHeaders.BYTES, '100000');
    h.set(ChunkHeaders.SOURCE, '_INBOX.nobody.s.x1');
    raw.publish('chunk.orphan', new Uint8Array(0), { headers: h });
    await done;
    sub.unsubscribe();
    assert.equal(received[0].error?.code, 'TRANSPORT_FAILURE');
    assert.match(received[0].error!.message, /sender is gone/);
  });
});
