import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BusError, createReply, decodeEnvelope, encodeEnvelope } from '@openagentio/nestjs';
import { createEvent, createRequest } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { newEventId, nowRfc3339 } from '@openagentio/nestjs/internal/protocol/ids.js';
import { normalizeEnvelope, wireForm } from '@openagentio/nestjs/internal/protocol/envelope-codec.js';
import { REPLY_COPIED_FIELDS } from '@openagentio/nestjs/internal/protocol/envelope.js';
import { schemaProblems } from '@openagentio/nestjs/internal/protocol/envelope-validator.js';
import { ENVELOPE_SCHEMA } from '@openagentio/nestjs/internal/protocol/envelope.schema.js';
import { validate as uuidValidate, version as uuidVersion } from 'uuid';

const root = new URL('../../../', import.meta.url).pathname;
// The schema and samples of the upstream runtimes, copied into the repository (see its README.md).
const fixtures = join(root, 'test/fixtures/protocol');
// A checkout of the upstream contract next to the repository, when there is one: the copies must not drift from it.
const shared = join(root, '../shared/protocol');
const sharedMissing = existsSync(shared)
  ? false
  : `${shared} does not exist: the copies in test/fixtures/protocol are not compared with an upstream checkout`;
const samples = readdirSync(join(fixtures)).filter((f) => f.endsWith('.json') && f !== 'envelope.schema.json');

/** What acp/1.0 says an encoder leaves out: seq 0, is_final false, empty strings, empty metadata. */
function withoutOmitted(obj: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (v === '' || v === null || (k === 'seq' && v === 0) || (k === 'is_final' && v === false)) continue;
    if (k === 'metadata' && v && typeof v === 'object' && Object.keys(v).length === 0) continue;
    out[k] = v;
  }
  return out;
}

describe('golden samples (test/fixtures/protocol)', () => {
  it('the embedded schema is the upstream schema', () => {
    const upstream = JSON.parse(readFileSync(join(fixtures, 'envelope.schema.json'), 'utf8'));
    assert.deepEqual(ENVELOPE_SCHEMA, upstream);
  });

  it('the copies are byte-identical to ../shared/protocol', { skip: sharedMissing }, () => {
    const upstreamSamples = readdirSync(join(shared, 'samples'))
      .filter((f) => f.endsWith('.json'))
      .sort();
    assert.deepEqual(samples.slice().sort(), upstreamSamples, 'the same sample files');
    const pairs: Array<[string, string]> = [
      [join(fixtures, 'envelope.schema.json'), join(shared, 'envelope.schema.json')],
      ...upstreamSamples.map((f): [string, string] => [join(fixtures, f), join(shared, 'samples', f)]),
    ];
    for (const [copy, upstream] of pairs) {
      assert.ok(readFileSync(copy).equals(readFileSync(upstream)), `${copy} differs from ${upstream}`);
    }
  });

  assert.ok(samples.length >= 5, 'expected the five upstream samples');
  for (const file of samples) {
    it(`${file}: validates, decodes, re-encodes to an equal object, validates again`, () => {
      const text = readFileSync(join(fixtures, file), 'utf8');
      const original = JSON.parse(text);
      assert.deepEqual(schemaProblems(original), []);
      const decoded = decodeEnvelope(Buffer.from(text));
      const reencoded = JSON.parse(encodeEnvelope(decoded));
      assert.deepEqual(reencoded, withoutOmitted(original));
      assert.deepEqual(schemaProblems(reencoded), []);
      assert.deepEqual(wireForm(decodeEnvelope(encodeEnvelope(decoded))), wireForm(decoded));
    });
  }
});

describe('encode/decode rules', () => {
  it('omits empty optional strings, seq 0, is_final false, empty metadata, absent payload', () => {
    const env = createRequest(undefined, { from: 'a', to: 'b', session_id: '' });
    Object.assign(env, { seq: 0, is_final: false, metadata: {}, channel: '' });
    const wire = JSON.parse(encodeEnvelope(env));
    for (const k of ['seq', 'is_final', 'metadata', 'channel', 'session_id', 'payload']) assert.ok(!(k in wire), `${k} must be omitted`);
    assert.equal(wire.spec_version, 'acp/1.0');
    assert.equal(wire.schema_version, 1);
    assert.equal(wire.frame_type, 'request');
  });

  it('keeps seq > 0, is_final true and embeds payload as JSON, not as a string', () => {
    const req = createRequest({ q: 1 }, { from: 'a' });
    const reply = createReply(req, 'agent.response.final', { result: { answer: 42 } }, { from: 'b', seq: 3, isFinal: true });
    const wire = JSON.parse(encodeEnvelope(reply));
    assert.equal(wire.seq, 3);
    assert.equal(wire.is_final, true);
    assert.deepEqual(wire.payload, { result: { answer: 42 } });
    assert.equal(encodeEnvelope(reply).includes('"payload":{"result"'), true);
  });

  it('ignores unknown keys and treats a missing seq as 0', () => {
    const env = createEvent('orders.created', { id: 1 }, {});
    const decoded = decodeEnvelope(JSON.stringify({ ...wireForm(env), x_future_field: { a: 1 } }));
    assert.equal(decoded.seq ?? 0, 0);
    assert.equal(decoded.event_type, 'orders.created');
  });

  it("accepts Python's empty cause/data/meta as absent", () => {
    const base = { spec_version: 'acp/1.0', schema_version: 1, event_id: newEventId(), occurred_at: nowRfc3339() };
    const err = decodeEnvelope(
      JSON.stringify({
        ...base,
        event_type: 'agent.response.error',
        is_final: true,
        payload: { code: 'NO_HANDLER', message: 'x', retryable: false, cause: {} },
      }),
    );
    assert.ok(!('cause' in (err.payload as object)));
    const delta = decodeEnvelope(JSON.stringify({ ...base, event_type: 'agent.response.delta', payload: { delta: 'hi', data: {} } }));
    assert.deepEqual(delta.payload, { delta: 'hi' });
    const started = decodeEnvelope(JSON.stringify({ ...base, event_type: 'agent.response.started', payload: { meta: {} } }));
    assert.deepEqual(started.payload, {});
  });

  it('a known event_type wins over a contradicting frame_type', () => {
    const env = createReply(createRequest(1, {}), 'agent.response.delta', { delta: 'x' }, { seq: 1 });
    const decoded = normalizeEnvelope({ ...wireForm(env), frame_type: 'response.final' });
    assert.equal(decoded.frame_type, 'response.delta');
  });

  it('accepts offsets and 0–9 fraction digits in occurred_at', () => {
    for (const t of [
      '2026-05-02T10:00:00Z',
      '2026-05-02T10:00:00.123456789Z',
      '2026-05-02T12:00:00+02:00',
      '2026-05-02T10:00:00.1-03:30',
    ]) {
      const env = { ...wireForm(createEvent('a.b', 1, {})), occurred_at: t };
      assert.doesNotThrow(() => normalizeEnvelope(env), t);
    }
  });

  it('rejects non-JSON, non-objects and schema-invalid envelopes with clear errors', () => {
    assert.throws(
      () => decodeEnvelope('{nope'),
      (e: BusError) => e.code === 'CODEC_FAILURE' && /not JSON/.test(e.message),
    );
    assert.throws(
      () => decodeEnvelope(new Uint8Array([0xff, 0xfe])),
      (e: BusError) => e.code === 'CODEC_FAILURE',
    );
    assert.throws(
      () => decodeEnvelope('[1,2]'),
      (e: BusError) => e.code === 'INVALID_REQUEST' && /JSON object/.test(e.message),
    );
    assert.throws(
      () => decodeEnvelope('{"spec_version":"acp/1.0"}'),
      (e: BusError) => e.code === 'INVALID_REQUEST' && /event_id/.test(e.message),
    );
    const bad = { ...wireForm(createEvent('a.b', 1, {})), seq: -1 };
    assert.throws(
      () => normalizeEnvelope(bad),
      (e: BusError) => /seq/.test(e.message),
    );
    const badError = {
      ...wireForm(createEvent('agent.response.error', { code: 'WHATEVER', message: 'm', retryable: false }, {})),
      is_final: true,
    };
    assert.throws(
      () => normalizeEnvelope(badError),
      (e: BusError) => /code/.test(e.message),
    );
  });

  it('event ids are lowercase UUIDv7 and times RFC 3339 UTC', () => {
    const id = newEventId();
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.match(nowRfc3339(), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    const ids = Array.from({ length: 5000 }, newEventId);
    assert.deepEqual([...ids].sort(), ids, 'UUIDv7 ids sort by creation time');
    assert.equal(new Set(ids).size, ids.length, 'ids are unique');
    for (const x of ids) assert.ok(uuidValidate(x) && uuidVersion(x) === 7, x);
    // The time prefix is the creation time (48-bit big-endian milliseconds).
    const ms = parseInt(ids[0].slice(0, 8) + ids[0].slice(9, 13), 16);
    assert.ok(Math.abs(ms - Date.now()) < 5000, `timestamp ${ms}`);
  });
});

describe('reply frames copy the request (docs/protocol.md §1)', () => {
  it('copies session and trace fields, sets correlation_id/from/to, inherits metadata minus acp.*', () => {
    const req = createRequest(
      { q: 1 },
      {
        from: 'caller',
        to: 'svc',
        session_id: 's',
        conversation_id: 'c',
        tenant_id: 't',
        user_id: 'u',
        channel: 'web',
        trace_id: '0af7651916cd43dd8448eb211c80319c',
        span_id: 'b7ad6b7169203331',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        reply_to: '_INBOX.x',
        metadata: { keep: 1, 'acp.ext': 'cancel', 'acp.deadline': 5, over: 'request' },
      },
    );
    const reply = createReply(
      req,
      'agent.response.final',
      { result: 1 },
      { from: 'svc', isFinal: true, metadata: { over: 'handler', extra: true } },
    );
    for (const k of ['session_id', 'conversation_id', 'tenant_id', 'user_id', 'channel', 'trace_id', 'span_id', 'traceparent'] as const) {
      assert.equal(reply[k], req[k], k);
    }
    assert.deepEqual(
      Object.keys(reply),
      [
        'spec_version',
        'schema_version',
        'event_id',
        'event_type',
        'occurred_at',
        'frame_type',
        ...REPLY_COPIED_FIELDS,
        'correlation_id',
        'from',
        'to',
        'is_final',
        'payload',
        'metadata',
      ],
      'every copied field, in the order of REPLY_COPIED_FIELDS',
    );
    assert.equal(reply.correlation_id, req.event_id);
    assert.equal(reply.from, 'svc');
    assert.equal(reply.to, 'caller');
    assert.equal(reply.reply_to, undefined);
    assert.deepEqual(reply.metadata, { keep: 1, over: 'handler', extra: true });
    assert.notEqual(reply.event_id, req.event_id);
    assert.deepEqual(schemaProblems(JSON.parse(encodeEnvelope(reply))), []);
  });
});
