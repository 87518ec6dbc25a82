import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createReply, encodeEnvelope, type Envelope } from '@openagentio/nestjs';
import { createRequest } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { replyEncoder } from '@openagentio/nestjs/internal/protocol/reply-encoder.js';

// The fast reply encoder must give exactly the bytes encodeEnvelope gives, for every frame the responder makes.
const requests: Record<string, Envelope> = {
  bare: createRequest(undefined, {}),
  'with caller and target': createRequest({ q: 1 }, { from: 'router', to: 'math.add', reply_to: '_INBOX.x.1' }),
  'every session and trace field, with quotes and unicode': createRequest(
    { q: 'x' },
    {
      from: 'ro"uter\\',
      session_id: 's-1',
      conversation_id: 'c-ü',
      tenant_id: 'acme',
      user_id: 'ada\n',
      channel: 'web',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      span_id: 'b7ad6b7169203331',
    },
  ),
  'empty strings are not copied': createRequest(null, { from: '', session_id: '', tenant_id: 't' }),
};
requests['with metadata (acp.* keys are not inherited)'] = {
  ...requests['with caller and target'],
  metadata: { 'acp.ext': 'flow', 'acp.deadline': 1, user: { k: [1, 2] } },
};

const frames = (request: Envelope, from?: string): Record<string, Envelope> => ({
  started: createReply(
    request,
    'agent.response.started',
    { meta: { agent: 'w', target: 't' } },
    { from, metadata: { 'acp.ext': 'flow,cancel', 'acp.ctl': '_INBOX.y.ctl.1' } },
  ),
  delta: createReply(request, 'agent.response.delta', { delta: 'tok "quoted" ✓' }, { from, seq: 7 }),
  'data delta': createReply(
    request,
    'agent.response.delta',
    { data: { n: NaN, list: [undefined, 1], nested: { toJSON: () => 'nested' } } },
    { from, seq: 1 },
  ),
  final: createReply(request, 'agent.response.final', { result: { answer: 42 } }, { from, seq: 9, isFinal: true }),
  'final without result': createReply(request, 'agent.response.final', {}, { from, isFinal: true }),
  'final of a string': createReply(request, 'agent.response.final', 'plain', { from, isFinal: true }),
  'empty-string payload': createReply(request, 'agent.response.final', '', { from, isFinal: true }),
  'null payload': createReply(request, 'agent.response.final', null, { from, isFinal: true }),
  'no payload': createReply(request, 'agent.response.final', undefined, { from, isFinal: true }),
  error: createReply(
    request,
    'agent.response.error',
    { code: 'AGENT_TIMEOUT', message: 'late', retryable: true },
    { from, seq: 3, isFinal: true },
  ),
  'payload with its own toJSON': createReply(
    request,
    'agent.response.final',
    { toJSON: (key: string) => ({ key }) },
    { from, isFinal: true },
  ),
  'unknown event type': createReply(request, 'orders.created', [1, 'two'], { from }),
  'event type that needs escaping': createReply(request, 'odd."type"\\ü', { x: 1 }, { from }),
  'own metadata merged over inherited': createReply(
    request,
    'agent.response.delta',
    { delta: 'x' },
    { from, seq: 2, metadata: { user: 'override', extra: true } },
  ),
});

describe('replyEncoder (fast wire JSON of reply frames)', () => {
  for (const [requestName, request] of Object.entries(requests)) {
    for (const from of ['writer', undefined]) {
      it(`equals encodeEnvelope: ${requestName}, from ${from ?? '(none)'}`, () => {
        const encode = replyEncoder(request, from);
        for (const [frameName, frame] of Object.entries(frames(request, from))) {
          assert.equal(encode(frame), encodeEnvelope(frame), frameName);
        }
      });
    }
  }

  it('a frame of another request takes the generic encoder', () => {
    const encode = replyEncoder(requests.bare, 'writer');
    const other = createReply(requests['with caller and target'], 'agent.response.final', { result: 1 }, { from: 'writer', isFinal: true });
    assert.equal(encode(other), encodeEnvelope(other));
  });
});
