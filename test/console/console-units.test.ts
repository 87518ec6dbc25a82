import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { SpanRing } from '@openagentio/nestjs';
import { EndpointCounters, MAX_CALLERS } from '@openagentio/nestjs/internal/discovery/endpoint-counters.js';
import { latencyBucket, latencyBucketUpperMs } from '@openagentio/nestjs/internal/discovery/latency-buckets.js';
import { percentile, TrafficWindow } from '@openagentio/nestjs-gateway/internal/console/traffic-window.js';

function span(i: number, extra: Record<string, unknown> = {}) {
  return {
    name: `handle t${i}`,
    kind: 1,
    spanContext: () => ({ traceId: `${i}`.padStart(32, '0'), spanId: `${i}`.padStart(16, '0') }),
    startTime: [1_000 + i, 0] as [number, number],
    duration: [0, 5e6] as [number, number],
    status: { code: 0 },
    attributes: { 'acp.session_id': i % 2 ? 'odd' : 'even', ...extra },
  };
}

describe('console units: latency buckets, caller counts, traffic window, span ring', () => {
  it('a handler time lands in a bucket whose upper bound is within 19% above it', () => {
    for (const ms of [0.0015, 0.02, 0.7, 3, 20, 150, 4000]) {
      const up = latencyBucketUpperMs(latencyBucket(ms));
      assert.ok(up >= ms && up <= ms * 1.19, `${ms} ms → bucket up to ${up}`);
    }
    assert.equal(latencyBucket(0), 0);
    assert.equal(latencyBucket(10 * 60_000), 103, 'longer than 67 s: the last bucket');
  });

  it('counts requests per caller, at most MAX_CALLERS of them, the rest together under *', () => {
    const c = new EndpointCounters();
    for (let i = 0; i < MAX_CALLERS + 10; i++) c.record(1, undefined, `caller-${i}`);
    c.record(2, undefined, 'caller-0');
    const data = c.data();
    assert.equal(Object.keys(data.acp_callers).length, MAX_CALLERS + 1);
    assert.deepEqual(data.acp_callers['caller-0'], [2, 0]);
    assert.deepEqual(data.acp_callers['*'], [10, 0]);
    assert.deepEqual(data.acp_latency, [
      [latencyBucket(1), MAX_CALLERS + 10],
      [latencyBucket(2), 1],
    ]);
  });

  it('p50/p99 from bucket differences; rates over the window, not only the ticks seen; series bounded', () => {
    const lat = new Map([
      [latencyBucket(1), 98],
      [latencyBucket(50), 2],
    ]);
    assert.equal(percentile(lat, 0.5), latencyBucketUpperMs(latencyBucket(1)));
    assert.equal(percentile(lat, 0.99), latencyBucketUpperMs(latencyBucket(50)));
    assert.equal(percentile(new Map(), 0.5), undefined);
    const w = new TrafficWindow(300);
    for (let i = 0; i < 300; i++)
      w.push({ at: 1000 + i * 500, ms: 500, requests: i === 299 ? 10 : 0, errors: i === 299 ? 1 : 0, latency: new Map() });
    const s = w.summary(1000 + 299 * 500, 10_000, 150_000);
    assert.equal(s.rate, 1, '10 calls over the last 10 s');
    assert.equal(s.error_rate, 0.1);
    assert.equal(w.series().length, 60);
    assert.equal(new TrafficWindow(5).series().length, 0, 'nothing called: no series');
  });

  it('SpanRing keeps the last `capacity` spans, newest first, filtered by trace, session and time', () => {
    const ring = new SpanRing(3);
    for (let i = 1; i <= 5; i++) ring.onEnd(span(i, { big: 'x'.repeat(1000), obj: { no: 1 } }));
    const all = ring.query();
    assert.deepEqual(
      all.map((s) => s.name),
      ['handle t5', 'handle t4', 'handle t3'],
    );
    assert.equal((all[0].attributes.big as string).length, 256, 'attributes cut to 256 characters');
    assert.equal(all[0].attributes.obj, undefined, 'only plain values');
    assert.deepEqual(
      ring.query({ session_id: 'odd' }).map((s) => s.name),
      ['handle t5', 'handle t3'],
    );
    assert.equal(ring.query({ trace_id: '4'.padStart(32, '0') }).length, 1);
    assert.deepEqual(
      ring.query({ since: 1_004_000 }).map((s) => s.name),
      ['handle t5', 'handle t4'],
    );
    assert.equal(ring.query({ limit: 1 }).length, 1);
  });
});
