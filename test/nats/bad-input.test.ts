import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect, createInbox, headers, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { BusClient, decodeEnvelope, encodeEnvelope, type Envelope, NatsTransport } from '@openagentio/nestjs';
import { ChunkHeaders } from '@openagentio/nestjs/internal/transport/nats/chunking.js';
import { createRequest } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { NatsServer } from '../support/nats-server.js';
import { quietLogger } from './helpers.js';

const SUBJECT = 'acp.v1.invoke.victim';

describe('bad input on the wire (raw NATS client)', () => {
  let server: NatsServer;
  let worker: BusClient;
  let caller: BusClient;
  let raw: NatsConnection;

  before(async () => {
    server = await NatsServer.start({ maxPayload: 64 * 1024 });
    worker = new BusClient(new NatsTransport({ servers: server.url, logger: quietLogger, maxMessageSize: 1024 * 1024 }), {
      agentId: 'worker',
      logger: quietLogger,
    });
    caller = new BusClient(new NatsTransport({ servers: server.url, logger: quietLogger }), { agentId: 'caller', logger: quietLogger });
    await worker.connect();
    await caller.connect();
    worker.handleInvoke('victim', (p: unknown) => ({ echo: p }));
    worker.handleInvoke('other', () => 'fine');
    await worker.transport.flush();
    raw = await connect({ servers: server.url });
  });

  after(async () => {
    await raw?.close();
    await caller?.close();
    await worker?.close();
    await server?.stop();
  });

  /** Publishes `body` with a NATS reply subject and resolves with the decoded reply envelope. */
  async function rawRequest(body: string | Uint8Array, hdrs?: ReturnType<typeof headers>): Promise<Envelope> {
    const inbox = createInbox();
    const reply = new Promise<Msg>((resolve) => raw.subscribe(inbox, { max: 1, callback: (_e, m) => resolve(m) }));
    raw.publish(SUBJECT, body, hdrs ? { reply: inbox, headers: hdrs } : { reply: inbox });
    const m = await reply;
    assert.equal(m.headers, undefined, 'a reply carries no NATS headers');
    return decodeEnvelope(m.data);
  }

  function assertInvalid(env: Envelope, re: RegExp): void {
    assert.equal(env.event_type, 'agent.response.error');
    assert.equal(env.is_final, true);
    const p = env.payload as { code: string; message: string };
    assert.equal(p.code, 'INVALID_REQUEST');
    assert.match(p.message, re);
  }

  it('answers INVALID_REQUEST for non-JSON, schema-invalid, unknown frame type and oversized input, and counts it', async () => {
    const before = worker.stats.invalidMessages;
    assertInvalid(await rawRequest('this is not json {'), /not JSON/);
    assertInvalid(await rawRequest(new Uint8Array([0xc3, 0x28])), /UTF-8/);
    assertInvalid(await rawRequest(JSON.stringify({ spec_version: 'acp/1.0', event_type: 'x' })), /acp\/1\.0/);
    assertInvalid(await rawRequest('[1,2,3]'), /JSON object|acp\/1\.0/);
    const delta = createRequest({}, { from: 'evil', reply_to: 'x' });
    delta.event_type = 'agent.response.delta';
    const replyToDelta = await rawRequest(encodeEnvelope({ ...delta, reply_to: undefined }));
    assertInvalid(replyToDelta, /unexpected event_type/);
    assert.equal(replyToDelta.correlation_id, delta.event_id);
    const weird = createRequest({}, { from: 'evil' });
    weird.event_type = 'totally.unknown.frame';
    assertInvalid(await rawRequest(encodeEnvelope(weird)), /unexpected event_type/);
    // oversized: a chunk stub announcing more than the receiver's maxMessageSize (1 MiB here)
    const h = headers();
    h.set(ChunkHeaders.ID, 'big');
    h.set(ChunkHeaders.COUNT, '2000');
    h.set(ChunkHeaders.BYTES, String(100 * 1024 * 1024));
    h.set(ChunkHeaders.SOURCE, '_INBOX.evil.s.big');
    assertInvalid(await rawRequest(new Uint8Array(0), h), /maxMessageSize 1048576/);
    assert.equal(worker.stats.invalidMessages - before, 7);
    // a raw client cannot even send a body above max_payload: its server refuses it
    assert.throws(() => raw.publish(SUBJECT, new Uint8Array(65 * 1024)), /max_payload/);
    // and the bus keeps serving
    assert.deepEqual(await caller.invoke('victim', 1), { echo: 1 });
  });

  it('answers INVALID_REQUEST to an envelope of another major spec_version, and serves a newer acp/1 minor', async () => {
    const before = worker.stats.invalidMessages;
    const request = (specVersion: string): string => {
      const env = createRequest(3, { from: 'peer' });
      return JSON.stringify({ ...JSON.parse(encodeEnvelope(env)), spec_version: specVersion });
    };
    for (const other of ['acp/99.7', 'acp/2.0', 'acp/10.0', 'acp/0.9']) {
      assertInvalid(await rawRequest(request(other)), new RegExp(`unsupported spec_version "${other}"`));
    }
    assert.equal(worker.stats.invalidMessages - before, 4);
    for (const minor of ['acp/1.0', 'acp/1.7', 'acp/1.12']) {
      const reply = await rawRequest(request(minor));
      assert.equal(reply.event_type, 'agent.response.final', minor);
      // A raw request advertises no extension: the handler's value as it is, as upstream runtimes answer.
      assert.deepEqual(reply.payload, { echo: 3 });
      assert.equal(reply.spec_version, 'acp/1.0', 'we answer in the version we speak');
    }
    assert.equal(worker.stats.invalidMessages - before, 4);
  });

  it('a flood of garbage for one target leaves it and the others serving', async () => {
    const before = worker.stats.invalidMessages;
    const N = 3000;
    for (let i = 0; i < N; i++) raw.publish(SUBJECT, i % 2 ? `garbage ${i}` : '{"spec_version":"acp/1.0"}');
    const during = Promise.all([caller.invoke('other', {}, { timeout: 5000 }), caller.invoke('victim', 'x', { timeout: 5000 })]);
    await raw.flush(); // the flood has reached the server...
    await worker.transport.flush(); // ...and, before this PONG, the worker
    assert.equal(worker.stats.invalidMessages - before, N);
    assert.deepEqual(await during, ['fine', { echo: 'x' }]);
    assert.deepEqual(await caller.invoke('victim', 2), { echo: 2 });
  });
});
