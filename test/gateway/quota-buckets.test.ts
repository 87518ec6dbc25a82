import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { metrics } from '@opentelemetry/api';
import { AggregationTemporality, MeterProvider, MetricReader, type CollectionResult } from '@opentelemetry/sdk-metrics';
import type { HandlerContext } from '@openagentio/nestjs';
import { QuotaLimiter } from '@openagentio/nestjs-gateway/internal/quota/quota-limiter.js';
import { QuotaMetricNames } from '@openagentio/nestjs-gateway/internal/quota/quota-metrics.js';
import { http, taskGateway, type TaskGateway } from '../tasks/gateway-task-app.js';

// Issue 27 item 5: token-bucket quotas per identity and per tenant at the gateway, per kind (invokes, stream opens,
// task submissions), 429 with Retry-After, a controllable clock instead of sleeps, counters as metrics.

/** A pull reader: `collect()` on demand. */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}
const reader = new TestReader();
// Before the gateway is created: the metrics API has no proxy provider.
metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));

function counter(r: CollectionResult, name: string, attrs: Record<string, string>): number {
  let sum = 0;
  for (const scope of r.resourceMetrics.scopeMetrics)
    for (const m of scope.metrics)
      if (m.descriptor.name === name)
        for (const p of m.dataPoints) if (Object.entries(attrs).every(([k, v]) => p.attributes[k] === v)) sum += p.value as number;
  return sum;
}

const ANN = 'token-ann'; // acme
const CARL = 'token-carl'; // acme
const BOB = 'token-bob'; // globex

describe('gateway quotas: token buckets per identity and tenant', () => {
  let gw: TaskGateway;
  let now = 0;
  const invoke = (token: string) => http(`${gw.url}/v1/agents/echo/invoke`, { token, body: { secret: 'PAYLOAD-1' } });
  const stream = (token: string) => http(`${gw.url}/v1/agents/count/stream`, { token, body: {} });
  const submit = (token: string) => http(`${gw.url}/v1/agents/report.build/tasks`, { token, body: { quarter: 'Q1' } });
  const chat = (token: string) =>
    http(`${gw.url}/v1/chat/completions`, { token, body: { model: 'm1', messages: [{ role: 'user', content: 'hi' }] } });
  const a2a = (token: string) =>
    http(`${gw.url}/v1/a2a`, {
      token,
      body: {
        jsonrpc: '2.0',
        id: 1,
        method: 'SendMessage',
        params: {
          message: { messageId: `m${Math.random()}`, role: 'ROLE_USER', parts: [{ text: 'Q2' }] },
          configuration: { returnImmediately: true },
        },
      },
    });
  /** Every bucket full again: far more than any refill time. */
  const refillAll = () => (now += 3_600_000);

  before(async () => {
    gw = await taskGateway({
      invokeTargets: ['echo'],
      streamTargets: ['count'],
      openai: { models: { m1: 'count' } },
      a2a: { target: 'report.build' },
      auth: {
        bearerTokens: {
          [ANN]: { tenant_id: 'acme', user_id: 'ann' },
          [CARL]: { tenant_id: 'acme', user_id: 'carl' },
          [BOB]: { tenant_id: 'globex', user_id: 'bob' },
        },
      },
      quotas: {
        identity: { invoke: { perSecond: 1, burst: 3 }, stream: { perSecond: 1, burst: 2 }, task: { perSecond: 0.5, burst: 2 } },
        tenant: { invoke: { perSecond: 1, burst: 5 } },
        now: () => now,
      },
    });
    gw.bus.handleInvoke('echo', () => ({ ok: true }));
    gw.bus.handleStream('count', async function* (_p: unknown, _ctx: HandlerContext) {
      yield { delta: 'hi' };
    });
  });
  after(async () => {
    await gw?.close();
  });

  it('a burst past the bucket is 429 BACKPRESSURE_DROP with Retry-After and a retryable ErrorPayload naming the quota', async () => {
    refillAll();
    for (let i = 0; i < 3; i++) assert.equal((await invoke(ANN)).status, 200, `invoke ${i + 1} of the burst`);
    const refused = await invoke(ANN);
    assert.equal(refused.status, 429);
    assert.equal(refused.headers.get('retry-after'), '1');
    assert.match(refused.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(refused.body.code, 'BACKPRESSURE_DROP');
    assert.equal(refused.body.retryable, true);
    assert.match(refused.body.message, /invokes per identity are limited to 1 a second \(burst 3\)/);
    assert.deepEqual(refused.body.cause, { quota: 'identity', kind: 'invoke', retry_after_ms: 1000 });
  });

  it('identities and tenants are isolated: another identity keeps its bucket, a tenant bucket caps its identities together', async () => {
    refillAll();
    for (let i = 0; i < 3; i++) assert.equal((await invoke(ANN)).status, 200);
    assert.equal((await invoke(ANN)).status, 429);
    // carl is in acme too: his own bucket has 3, the tenant's has 2 left of 5.
    assert.equal((await invoke(CARL)).status, 200);
    assert.equal((await invoke(CARL)).status, 200);
    const byTenant = await invoke(CARL);
    assert.equal(byTenant.status, 429);
    assert.equal(byTenant.body.cause.quota, 'tenant');
    assert.match(byTenant.body.message, /per tenant/);
    // globex is untouched by acme's use.
    for (let i = 0; i < 3; i++) assert.equal((await invoke(BOB)).status, 200, `globex invoke ${i + 1}`);
    assert.equal((await invoke(BOB)).status, 429);
  });

  it('kinds are separate: with invokes used up, stream opens (SSE and chat completions) and task submissions (REST and A2A) have their own buckets', async () => {
    refillAll();
    for (let i = 0; i < 3; i++) assert.equal((await invoke(ANN)).status, 200);
    assert.equal((await invoke(ANN)).status, 429);
    const s = await stream(ANN);
    assert.equal(s.status, 200);
    assert.match(String(s.body), /agent\.response\.final/);
    assert.equal((await chat(ANN)).status, 200, 'chat completions open a stream');
    const streamRefused = await stream(ANN);
    assert.equal(streamRefused.status, 429);
    assert.equal(streamRefused.body.cause.kind, 'stream');
    const chatRefused = await chat(ANN);
    assert.equal(chatRefused.status, 429);
    assert.equal(chatRefused.body.error.type, 'rate_limit_error', 'the OpenAI routes answer in their error shape');
    assert.equal(chatRefused.headers.get('retry-after'), '1');

    assert.equal((await submit(ANN)).status, 202);
    const sent = await a2a(ANN);
    assert.equal(sent.status, 200);
    assert.ok(sent.body.result?.task, JSON.stringify(sent.body));
    const taskRefused = await submit(ANN);
    assert.equal(taskRefused.status, 429);
    assert.equal(taskRefused.body.cause.kind, 'task');
    assert.equal(taskRefused.headers.get('retry-after'), '2', 'half a token a second: 2 s for the next');
    const a2aRefused = await a2a(ANN);
    assert.equal(a2aRefused.status, 429, 'A2A messages count as task submissions');
    assert.equal(a2aRefused.headers.get('retry-after'), '2');
  });

  it('buckets refill with time: nothing before a whole token is back, one request per token after', async () => {
    refillAll();
    for (let i = 0; i < 3; i++) assert.equal((await invoke(ANN)).status, 200);
    assert.equal((await invoke(ANN)).status, 429);
    now += 999;
    const early = await invoke(ANN);
    assert.equal(early.status, 429);
    assert.equal(early.body.cause.retry_after_ms, 1);
    now += 1;
    assert.equal((await invoke(ANN)).status, 200, 'one token after 1 s');
    assert.equal((await invoke(ANN)).status, 429);
    now += 2_000;
    assert.equal((await invoke(ANN)).status, 200);
    assert.equal((await invoke(ANN)).status, 200);
    assert.equal((await invoke(ANN)).status, 429, 'two seconds gave two tokens, no more');
    now += 60_000;
    for (let i = 0; i < 3; i++) assert.equal((await invoke(ANN)).status, 200, 'refilled to the burst, not beyond');
    assert.equal((await invoke(ANN)).status, 429);
  });

  it('an EventSource resuming with Last-Event-ID is not a stream open and is never refused; an empty one is counted', async () => {
    refillAll();
    for (let i = 0; i < 2; i++) assert.equal((await stream(BOB)).status, 200);
    assert.equal((await stream(BOB)).status, 429);
    const resume = await http(`${gw.url}/v1/agents/count/stream?payload=%7B%7D`, {
      token: BOB,
      headers: { 'last-event-id': 'no-such-frame' },
    });
    assert.equal(resume.status, 404, 'an unknown frame is a 404, not a new stream');
    // An empty Last-Event-ID resumes nothing and would open a stream: it is counted.
    const empty = await http(`${gw.url}/v1/agents/count/stream?payload=%7B%7D`, { token: BOB, headers: { 'last-event-id': '' } });
    assert.equal(empty.status, 429);
  });

  it('counts allowed and refused requests as metrics, by kind and scope', async () => {
    refillAll();
    const before = await reader.collect();
    for (let i = 0; i < 3; i++) await invoke(BOB);
    await invoke(BOB);
    await invoke(BOB);
    await submit(BOB);
    const r = await reader.collect();
    const delta = (name: string, attrs: Record<string, string>) => counter(r, name, attrs) - counter(before, name, attrs);
    assert.equal(delta(QuotaMetricNames.allowed, { 'acp.kind': 'invoke' }), 3);
    assert.equal(delta(QuotaMetricNames.refused, { 'acp.kind': 'invoke', 'acp.quota.scope': 'identity' }), 2);
    assert.equal(delta(QuotaMetricNames.allowed, { 'acp.kind': 'task' }), 1);
    assert.equal(delta(QuotaMetricNames.refused, { 'acp.kind': 'task' }), 0);
    assert.ok(
      counter(r, QuotaMetricNames.buckets, { 'acp.kind': 'invoke', 'acp.quota.scope': 'identity' }) >= 3,
      'one bucket per identity used',
    );
    const doc = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
    for (const name of Object.values(QuotaMetricNames)) {
      assert.ok(doc.includes(`\`${name}\``), `docs/security.md names ${name}`);
      assert.ok(
        r.resourceMetrics.scopeMetrics.some((sm) => sm.metrics.some((m) => m.descriptor.name === name)),
        `${name} is collected`,
      );
    }
  });
});

describe('quota buckets in memory', () => {
  it('full buckets are swept: 100,000 one-off identities leave the map bounded by those active within a refill time', () => {
    const limiter = new QuotaLimiter({ identity: { invoke: { perSecond: 10, burst: 10 } } });
    let t = 0;
    for (let i = 0; i < 100_000; i++) {
      assert.equal(limiter.take('invoke', `id-${i}`, undefined, t), undefined);
      t += 10; // each bucket is full again 1 s after its one request
    }
    const size = limiter.sizes().find((s) => s.kind === 'invoke')!.size;
    assert.ok(size <= 2_048, `${size} buckets held`);
    // A bucket in use is never swept: it keeps its debt.
    for (let i = 0; i < 10; i++) limiter.take('invoke', 'busy', undefined, t);
    assert.ok(limiter.take('invoke', 'busy', undefined, t), 'busy is empty');
    for (let i = 0; i < 5_000; i++) limiter.take('invoke', `late-${i}`, undefined, t);
    assert.ok(limiter.take('invoke', 'busy', undefined, t), 'still empty after a sweep');
  });
});
