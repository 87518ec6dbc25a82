import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createReply, surelyValid } from '@openagentio/nestjs';
import { createEvent, createRequest } from '@openagentio/nestjs/internal/protocol/envelope-factory.js';
import { envelopeValidator, schemaProblems } from '@openagentio/nestjs/internal/protocol/envelope-validator.js';

// surelyValid is the hand-written fast path of schema validation: whenever it says yes, the upstream schema (Ajv)
// must say yes too; and it must say yes to the envelopes this runtime and its peers actually send, or it saves
// nothing. Broken envelopes are made by changing one field at a time of valid ones.
const fixtures = join(new URL('../../../', import.meta.url).pathname, 'test/fixtures/protocol');
const samples = readdirSync(fixtures)
  .filter((f) => f.endsWith('.json') && f !== 'envelope.schema.json')
  .map((f) => JSON.parse(readFileSync(join(fixtures, f), 'utf8')) as Record<string, unknown>);

const request = createRequest(
  { q: 1 },
  {
    from: 'router',
    to: 'math.add',
    reply_to: '_INBOX.a.1',
    session_id: 's',
    traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
  },
);
request.metadata = { 'acp.ext': 'flow', 'acp.deadline': 1 };
const ours = [
  request,
  createReply(request, 'agent.response.started', { meta: {} }, { from: 'w', metadata: { 'acp.ctl': 'x' } }),
  createReply(request, 'agent.response.delta', { delta: 'x' }, { from: 'w', seq: 1 }),
  createReply(request, 'agent.response.final', { result: 1 }, { from: 'w', seq: 2, isFinal: true }),
  createReply(
    request,
    'agent.response.error',
    { code: 'NO_HANDLER', message: 'none', retryable: false, cause: { a: 1 } },
    { from: 'w', isFinal: true },
  ),
  createEvent('orders.created', { id: 7 }, { from: 'shop' }),
  createEvent('acp.control.credit', undefined, { from: 'c' }),
];
const valid = [...samples, ...ours].map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>);

const anyValues: unknown[] = [undefined, null, '', 0, -1, 1, 1.5, 2, true, false, 'x', [], {}, ['a'], { a: 1 }];
const byKey: Record<string, unknown[]> = {
  spec_version: ['acp/1.0', 'acp/1.0 ', 'acp/10.2', 'ACP/1.0', 'acp/1', 'acp/1.0\n', 'acp/١.٠'],
  schema_version: [1, 2, 0, 1.0000001, Number.MAX_SAFE_INTEGER],
  event_id: [
    '019de7eb-baab-7e67-bb77-a7a03a666140',
    '019DE7EB-BAAB-7E67-BB77-A7A03A666140',
    '019de7ebbaab-7e67-bb77-a7a03a666140-',
    '019de7eb-baab-7e67-bb77-a7a03a66614',
    '019de7eb-baab-7e67-bb77-a7a03a666140a',
    '019de7eg-baab-7e67-bb77-a7a03a666140',
    '019de7eb_baab_7e67_bb77_a7a03a666140',
    ' 019de7eb-baab-7e67-bb77-a7a03a66614',
  ],
  occurred_at: [
    '2026-11-24T09:00:00Z',
    '2026-11-24T09:00:00.123Z',
    '2026-11-24T09:00:00.123456789Z',
    '2026-11-24T09:00:00+02:00',
    '2026-11-24T09:00:00.5-05:30',
    '2026-11-24t09:00:00z',
    '2026-11-24 09:00:00Z',
    '2026-11-24T09:00:00',
    '2026-11-24T09:00:00.Z',
    '2026-11-24T09:00:00Z\n',
    '2026-11-24T09:00:00+0200',
    '2026-11-24T09:00Z',
    '26-11-24T09:00:00Z',
    '2026-11-24T09:00:00.123+02:00x',
    '2026-11-24T09:00:00-02:0',
    '２026-11-24T09:00:00Z',
  ],
  event_type: [
    'agent.response.final',
    'agent.response.error',
    'agent.response.delta',
    'agent.tool.result',
    'agent.task.completed',
    'orders.created',
  ],
  frame_type: ['response.final', 'response.error', 'tool.result', 'response.delta', 'request'],
  seq: [0, 3, -1, 1.5],
  is_final: [true, false, 'true', 1],
  payload: [
    { code: 'AGENT_TIMEOUT', message: 'm', retryable: true },
    { code: 'AGENT_TIMEOUT', message: 'm', retryable: true, cause: { a: 1 } },
    { code: 'AGENT_TIMEOUT', message: 'm', retryable: true, cause: null },
    { code: 'AGENT_TIMEOUT', message: 'm', retryable: true, cause: [] },
    { code: 'NOT_A_CODE', message: 'm', retryable: true },
    { code: 'AGENT_TIMEOUT', message: 1, retryable: true },
    { code: 'AGENT_TIMEOUT', message: 'm', retryable: 'yes' },
    { code: 'AGENT_TIMEOUT', retryable: true },
    { message: 'm', retryable: false },
  ],
  metadata: [],
};
const keys = [
  'spec_version',
  'schema_version',
  'event_id',
  'event_type',
  'frame_type',
  'occurred_at',
  'trace_id',
  'span_id',
  'traceparent',
  'session_id',
  'conversation_id',
  'correlation_id',
  'reply_to',
  'from',
  'to',
  'channel',
  'tenant_id',
  'user_id',
  'seq',
  'is_final',
  'payload',
  'metadata',
];

function mutations(): Array<Record<string, unknown>> {
  const out: Array<Record<string, unknown>> = [];
  for (const base of valid) {
    for (const key of keys) {
      for (const v of [...anyValues, ...(byKey[key] ?? [])]) {
        const e = { ...base };
        if (v === undefined) delete e[key];
        else e[key] = v;
        out.push(e);
        // The conditional rules depend on pairs of fields: also try each value with a terminal and an error frame.
        if (key === 'event_type' || key === 'frame_type' || key === 'payload') {
          out.push({ ...e, is_final: true });
          out.push({ ...e, event_type: 'agent.response.error' });
        }
      }
    }
  }
  return out;
}

describe('surelyValid (fast path of envelope validation)', () => {
  const ajv = envelopeValidator();

  it('accepts every valid envelope: the golden samples and what this runtime sends', () => {
    for (const e of valid) {
      assert.equal(ajv(e), true, JSON.stringify(e));
      assert.equal(surelyValid(e), true, JSON.stringify(e));
    }
  });

  it('never accepts an envelope the schema rejects (one field changed at a time)', () => {
    const cases = mutations();
    let rejectedBySchema = 0;
    let acceptedFast = 0;
    for (const e of cases) {
      const schemaSays = ajv(e) as boolean;
      if (!schemaSays) rejectedBySchema++;
      if (surelyValid(e)) {
        acceptedFast++;
        assert.equal(schemaSays, true, `fast path accepted what the schema rejects: ${JSON.stringify(e)}`);
      }
    }
    assert.ok(cases.length > 5000, `${cases.length} cases`);
    assert.ok(
      rejectedBySchema > 1000 && acceptedFast > 1000,
      `both verdicts exercised: ${rejectedBySchema} rejected, ${acceptedFast} accepted fast`,
    );
  });

  it('leaves the explaining to the schema: problems are listed as before', () => {
    const broken = { ...valid[0], event_id: 'nope', seq: -1 };
    const problems = schemaProblems(broken);
    assert.ok(problems.some((p) => p.includes('/event_id')) && problems.some((p) => p.includes('/seq')), problems.join('; '));
    assert.deepEqual(schemaProblems(valid[0]), []);
  });
});
