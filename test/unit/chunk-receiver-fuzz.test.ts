import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headers as natsHeaders, type Msg } from '@nats-io/transport-node';
import { BusError, type TransportMessage } from '@openagentio/nestjs';
import { ChunkHeaders } from '@openagentio/nestjs/internal/transport/nats/chunking.js';
// The chunk receiver under fuzz, through the package's internal/ entry (not public API).
import { ChunkExchange, type ChunkHost } from '@openagentio/nestjs/internal/transport/nats/nats-chunk-exchange.js';
import type { NatsClient } from '@openagentio/nestjs/internal/transport/nats/nats-client.js';

// The chunk receiver against generated hostile input (issue 13): stubs with any count, size and source, then
// chunks in any order, duplicated, missing, oversize, with bad indexes, error headers or none. Whatever arrives,
// nothing throws, each stub ends in at most one outcome, a body is delivered only whole and exactly as announced,
// and what is held stays within the per-connection bounds. Seeded, so a failure reproduces; bounded in count.

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MAX_MESSAGE = 256 * 1024;
const MAX_PAYLOAD = 4 * 1024;
const CHUNK_INBOX = '_INBOX.fuzz.ch';

type Outcome = { kind: 'error'; error: BusError } | { kind: 'body'; data: Uint8Array };

function harness() {
  const outcomes = new Map<string, Outcome[]>();
  const pulls: string[] = [];
  const note = (rec: string, o: Outcome) => outcomes.set(rec, [...(outcomes.get(rec) ?? []), o]);
  const host: ChunkHost<string> = {
    client: { Empty: new Uint8Array(0), headers: natsHeaders } as unknown as NatsClient,
    openConnection: () =>
      ({ publish: (_subject: string, _data: Uint8Array, opts?: { reply?: string }) => pulls.push(opts!.reply!) }) as never,
    maxPayload: MAX_PAYLOAD,
    maxMessageSize: MAX_MESSAGE,
    chunkTimeout: 3_600_000,
    chunkInbox: CHUNK_INBOX,
    inboxPrefix: '_INBOX.fuzz',
    logger: { log() {}, warn() {}, error() {}, debug() {} },
    deliver: (rec: string, m: TransportMessage) => note(rec, { kind: 'error', error: m.error! }),
    deliverBody: (rec: string, _subject: string, _reply: string | undefined, data: Uint8Array) => note(rec, { kind: 'body', data }),
  };
  return { exchange: new ChunkExchange(host), outcomes, pulls };
}

function msg(subject: string, data: Uint8Array, h?: ReturnType<typeof natsHeaders>, reply?: string): Msg {
  return { subject, reply: reply ?? '', data, headers: h } as unknown as Msg;
}

const SOURCES = ['_INBOX.peer.ch.s.1', '', 'a b', '_INBOX.' + 'x'.repeat(5000), 'ok.subject', '>', 'x.*', '_INBOX.peer\tPUB'];
const NUMBERS = ['1', '0', '-1', 'NaN', '1e308', '9007199254740993', '3.5', '', ' 2', '0x10', '4', '64', '300', String(MAX_MESSAGE)];

describe('chunk receiver fuzz', () => {
  it('3,000 generated transfers: no throw, one outcome at most, whole bodies only, bounded holdings', () => {
    const rnd = prng(0x5eed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
    const { exchange, outcomes, pulls } = harness();
    const internals = exchange as unknown as { assemblies: Map<string, unknown>; pendingBytes: number };
    const expected = new Map<string, Uint8Array>();
    let bodies = 0;
    for (let n = 0; n < 3_000; n++) {
      const rec = `r${n}`;
      const honest = rnd() < 0.4;
      const size = honest ? 1 + Math.floor(rnd() * 20_000) : 0;
      const body = honest ? Uint8Array.from({ length: size }, () => Math.floor(rnd() * 256)) : new Uint8Array(0);
      const chunkSize = 1024 + Math.floor(rnd() * 3000);
      const parts: Uint8Array[] = [];
      for (let off = 0; off < body.length; off += chunkSize) parts.push(body.subarray(off, off + chunkSize));
      const stub = natsHeaders();
      stub.set(ChunkHeaders.ID, String(n));
      stub.set(ChunkHeaders.COUNT, honest ? String(parts.length) : pick(NUMBERS));
      stub.set(ChunkHeaders.BYTES, honest ? String(size) : pick([...NUMBERS, String(10 * MAX_MESSAGE)]));
      stub.set(ChunkHeaders.SOURCE, honest ? SOURCES[0] : pick(SOURCES));
      const before = pulls.length;
      assert.doesNotThrow(() => exchange.receive(rec, msg('acp.v1.invoke.t', new Uint8Array(0), stub), stub));
      if (honest) expected.set(rec, body);
      if (pulls.length > before) {
        // The receiver asked for the chunks on this subject: answer with a generated (possibly hostile) sequence.
        const chunkSubject = pulls[pulls.length - 1];
        const sends: Array<{ i: string; data: Uint8Array; error?: string; noHeaders?: boolean }> = parts.map((p, i) => ({
          i: String(i),
          data: p,
        }));
        const mode = rnd();
        if (mode < 0.15) sends.reverse();
        else if (mode < 0.3) sends.splice(Math.floor(rnd() * sends.length), 1);
        else if (mode < 0.4 && sends.length > 0) sends.push({ ...sends[Math.floor(rnd() * sends.length)] });
        else if (mode < 0.5)
          sends.splice(Math.floor(rnd() * (sends.length + 1)), 0, { i: pick(NUMBERS), data: new Uint8Array(Math.floor(rnd() * 70_000)) });
        else if (mode < 0.55) sends.unshift({ i: '0', data: new Uint8Array(0), error: 'unknown or expired transfer' });
        else if (mode < 0.6) sends.unshift({ i: '0', data: new Uint8Array(0), noHeaders: true });
        else if (!honest) for (let k = 0; k < 3; k++) sends.push({ i: pick(NUMBERS), data: new Uint8Array(Math.floor(rnd() * 5000)) });
        for (const s of sends) {
          let h: ReturnType<typeof natsHeaders> | undefined;
          if (!s.noHeaders) {
            h = natsHeaders();
            h.set(ChunkHeaders.ID, String(n));
            h.set(ChunkHeaders.INDEX, s.i);
            if (s.error) h.set(ChunkHeaders.ERROR, s.error);
          }
          assert.doesNotThrow(() => exchange.onMessage(null, msg(chunkSubject, s.data, h)));
        }
      }
      assert.ok(internals.assemblies.size <= 64, `${internals.assemblies.size} reassemblies held`);
      assert.ok(internals.pendingBytes <= 4 * MAX_MESSAGE, `${internals.pendingBytes} bytes announced and held`);
      const got = outcomes.get(rec) ?? [];
      assert.ok(got.length <= 1, `${rec}: ${got.length} outcomes`);
      for (const o of got) {
        if (o.kind === 'error') {
          assert.ok(o.error instanceof BusError, String(o.error));
          continue;
        }
        bodies++;
        assert.ok(honest, `${rec}: a body from a dishonest stub`);
        assert.deepEqual(Buffer.from(o.data), Buffer.from(expected.get(rec)!), `${rec}: the body is exactly what was sent`);
      }
      // Stubs left half-received (missing chunks) would time out; drop them now and then, as a closed connection does.
      if (rnd() < 0.02) exchange.drop();
    }
    assert.ok(bodies > 300, `only ${bodies} honest transfers completed: the generator is not exercising the happy path`);
    exchange.drop();
    assert.equal(internals.assemblies.size, 0);
    assert.equal(internals.pendingBytes, 0);
  });
});
