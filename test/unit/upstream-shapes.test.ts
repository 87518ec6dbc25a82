import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EventTypes, type Envelope } from '@openagentio/nestjs';
import { createReply, createRequest } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { resultOf } from '@openagentio/nestjs/internal/caller/result-of.js';
import { deriveTraceIds } from '@openagentio/nestjs/internal/protocol/trace-ids.js';
import { invokePayload } from '@openagentio/nestjs/internal/responder/frame-values.js';

// How our runtime reads and writes what the upstream runtimes send (issue 24): invoke result shapes, and trace ids
// from a lone traceparent.

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN_ID = '00f067aa0ba902b7';

function final(payload: unknown): Envelope {
  return createReply(createRequest(undefined, { from: 'a' }), EventTypes.FINAL, payload, { isFinal: true });
}

describe('invoke result shapes', () => {
  it('a reply payload is unwrapped only when it is exactly {"result": x}', () => {
    assert.equal(resultOf(final({ result: 1 })), 1);
    assert.deepEqual(resultOf(final({ result: { result: 1, other: 2 } })), { result: 1, other: 2 });
    assert.deepEqual(resultOf(final({ result: 1, other: 2 })), { result: 1, other: 2 }, 'no key lost');
    assert.deepEqual(resultOf(final({ text: 'hello' })), { text: 'hello' });
    assert.equal(resultOf(final('hello')), 'hello');
    assert.deepEqual(resultOf(final([{ result: 1 }])), [{ result: 1 }]);
    assert.equal(resultOf(final(undefined)), undefined);
    assert.deepEqual(resultOf(final({})), {});
  });

  it('our responder wraps for callers that advertised our extensions, and sends the value as it is to the others', () => {
    const ours = new Set(['cancel', 'chunk']);
    const none = new Set<string>();
    for (const value of [{ text: 'hello' }, 'hello', 0, null, { result: 1, other: 2 }, [1, 2]]) {
      assert.deepEqual(invokePayload(ours, value), { result: value });
      assert.deepEqual(invokePayload(none, value), value);
      // Between ours the round trip is exact, whatever the value.
      assert.deepEqual(resultOf(final(invokePayload(ours, value))), value);
    }
    assert.deepEqual(invokePayload(ours, undefined), {});
    assert.equal(invokePayload(none, undefined), undefined, 'no value, no payload (as upstream sends a nil result)');
  });
});

describe('trace ids from a lone traceparent', () => {
  const arriving = (fields: Partial<Envelope>): Envelope => ({ ...createRequest(undefined, {}), ...fields });

  it('fills trace_id and span_id from a valid traceparent', () => {
    const env = arriving({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01` });
    deriveTraceIds(env);
    assert.equal(env.trace_id, TRACE_ID);
    assert.equal(env.span_id, SPAN_ID);
  });

  it('keeps fields already set', () => {
    const env = arriving({ traceparent: `00-${TRACE_ID}-${SPAN_ID}-01`, trace_id: 'mine' });
    deriveTraceIds(env);
    assert.equal(env.trace_id, 'mine');
    assert.equal(env.span_id, SPAN_ID);
  });

  it('changes nothing for an invalid traceparent (all-zero ids, wrong lengths, upper case, garbage)', () => {
    for (const tp of [
      `00-${'0'.repeat(32)}-${SPAN_ID}-01`,
      `00-${TRACE_ID}-${'0'.repeat(16)}-01`,
      `00-${TRACE_ID.slice(1)}-${SPAN_ID}-01`,
      `00-${TRACE_ID.toUpperCase()}-${SPAN_ID}-01`,
      'not a traceparent',
    ]) {
      const env = arriving({ traceparent: tp });
      deriveTraceIds(env);
      assert.equal(env.trace_id, undefined, tp);
      assert.equal(env.span_id, undefined, tp);
    }
  });
});
