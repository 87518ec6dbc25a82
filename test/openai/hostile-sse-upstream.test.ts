// The openclaw_chat_sse bridge against an upstream that misbehaves on purpose (test/support/hostile-sse-upstream.ts):
// every read is bounded, a bound passed fails the call with CODEC_FAILURE naming it (never the process), error
// texts reach the caller cut and without secrets, and the bridge stays healthy and answers the next call.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { type BusClient, BusError } from '@openagentio/nestjs';
import { OpenClawChatSseBridge } from '@openagentio/nestjs-bridges';
import { BridgeSupervisor } from '@openagentio/nestjs-bridges/internal/supervision/bridge-supervisor.js';
import { memoryBuses, quietLogger } from '../bridge/helpers.js';
import { HostileSseUpstream } from '../support/hostile-sse-upstream.js';

const MiB = 1024 * 1024;
/** Heap growth and event-loop delay a bounded read stays well within (the unbounded reads took 400+ MB and seconds). */
const MAX_HEAP_GROWTH = 64 * MiB;
// (The machine running the tests is shared: a bound well above GC pauses under load, well below the seconds an unbounded read took.)
const MAX_LAG_MS = 1_000;

interface Measured {
  error: BusError;
  heapGrowth: number;
  lagMs: number;
  ms: number;
}

/** Runs a call that must fail, sampling the heap and the event loop's delay meanwhile. */
async function failing(call: () => Promise<unknown>): Promise<Measured> {
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().heapUsed)), 10);
  const t0 = Date.now();
  let error: unknown;
  try {
    await call();
  } catch (err) {
    error = err;
  } finally {
    clearInterval(sampler);
    lag.disable();
  }
  peak = Math.max(peak, process.memoryUsage().heapUsed);
  assert.ok(error instanceof BusError, `the call must fail with a BusError, got ${String(error)}`);
  return { error, heapGrowth: peak - base, lagMs: lag.max / 1e6, ms: Date.now() - t0 };
}

function assertBounded(m: Measured): void {
  assert.ok(m.heapGrowth < MAX_HEAP_GROWTH, `heap grew by ${Math.round(m.heapGrowth / MiB)} MiB`);
  assert.ok(m.lagMs < MAX_LAG_MS, `event loop delayed ${Math.round(m.lagMs)} ms`);
  assert.ok(m.error.message.length < 1_200, `message of ${m.error.message.length} characters`);
}

describe('openclaw_chat_sse against a hostile upstream', () => {
  let upstream: HostileSseUpstream;
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let caller: BusClient;
  const supervisors: BridgeSupervisor[] = [];

  const call = (target: string, model: string) => caller.stream(target, { text: 'x', model }).result();
  const sentTo = (model: string) => upstream.sent.filter((s) => s.model === model);

  /** The bridge is still healthy and answers a normal call. */
  async function stillServes(target = 'llm'): Promise<void> {
    for (const s of supervisors) assert.equal(s.status, 'healthy');
    assert.equal(await caller.stream(target, { text: 'x', model: 'ok' }).text(), 'Hello, upstream');
  }

  before(async () => {
    upstream = await new HostileSseUpstream().start();
    env = await memoryBuses('bridge-host', 'caller');
    caller = env.buses[1];
    const start = async (name: string, extra: Record<string, unknown> = {}) => {
      const b = new OpenClawChatSseBridge(name, {
        base_url: upstream.url,
        token: 'sk-bridge-own-token-1234',
        timeout_ms: 30_000,
        retry_initial_ms: 10,
        ...extra,
      });
      const s = new BridgeSupervisor(b, env.buses[0], quietLogger);
      supervisors.push(s);
      await s.start();
    };
    await start('llm');
    // Bounds wide enough to let a 5 MB error text through the SSE reader, to see it cut in the message.
    await start('llm-wide', { max_line_bytes: 16 * MiB, max_event_bytes: 16 * MiB });
  });
  after(async () => {
    for (const s of supervisors) await s.stop();
    await env.close();
    await upstream.stop();
  });

  it('data: lines that never end their event (600 MB offered): CODEC_FAILURE max_event_bytes after about 4 MiB', async () => {
    const m = await failing(() => call('llm', 'no-blank:600'));
    assert.equal(m.error.code, 'CODEC_FAILURE');
    assert.equal(m.error.details?.limit, 'max_event_bytes');
    assert.match(m.error.message, /max_event_bytes \(4194304 bytes\)/);
    assertBounded(m);
    // The reader stopped: what the peer could write is the limit plus what sockets buffer, not the 600 MB.
    assert.ok(sentTo('no-blank:600')[0].bytes < 32 * MiB, `${sentTo('no-blank:600')[0].bytes} bytes were sent`);
    await stillServes();
  });

  it('one 50 MB line without a newline: CODEC_FAILURE max_line_bytes within a second, no rescanning', async () => {
    const m = await failing(() => call('llm', 'long-line:50'));
    assert.equal(m.error.code, 'CODEC_FAILURE');
    assert.equal(m.error.details?.limit, 'max_line_bytes');
    assertBounded(m);
    assert.ok(m.ms < 3_000, `took ${m.ms} ms`);
    await stillServes();
  });

  it('50 MB of blank lines before the answer: read in a few seconds at most, the event loop never held up, the answer right', async () => {
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    const t0 = Date.now();
    const text = await caller.stream('llm', { text: 'x', model: 'newlines:50' }).text();
    lag.disable();
    assert.equal(text, 'Hello, upstream');
    assert.ok(Date.now() - t0 < 5_000, `took ${Date.now() - t0} ms`);
    assert.ok(lag.max / 1e6 < MAX_LAG_MS, `event loop delayed ${Math.round(lag.max / 1e6)} ms`);
  });

  it('a 500 with a 200 MB body, on each of 3 attempts: only the first 64 KiB of each is read', async () => {
    const m = await failing(() => call('llm', 'http-500:200'));
    assert.equal(m.error.code, 'AGENT_UNAVAILABLE');
    assert.match(m.error.message, /upstream HTTP 500: e+…$/);
    assertBounded(m);
    const attempts = sentTo('http-500:200');
    assert.equal(attempts.length, 3);
    for (const a of attempts) assert.ok(a.bytes < 32 * MiB, `${a.bytes} bytes were sent`);
    await stillServes();
  });

  it('a 200 MB JSON answer: CODEC_FAILURE max_response_bytes, never one 200 MB delta', async () => {
    let deltas = 0;
    const m = await failing(async () => {
      for await (const f of caller.stream('llm', { text: 'x', model: 'json:200' })) if (f.event_type === 'agent.response.delta') deltas++;
    });
    assert.equal(m.error.code, 'CODEC_FAILURE');
    assert.equal(m.error.details?.limit, 'max_response_bytes');
    assert.equal(deltas, 0);
    assertBounded(m);
    assert.ok(sentTo('json:200')[0].bytes < 48 * MiB);
    await stillServes();
  });

  it('a non-JSON data: line holding api_key=sk-live-…: CODEC_FAILURE without the key', async () => {
    const m = await failing(() => call('llm', 'secret-chunk'));
    assert.equal(m.error.code, 'CODEC_FAILURE');
    assert.match(m.error.message, /not JSON: not json api_key=\[REDACTED\]/);
    assert.ok(!JSON.stringify(m.error.toPayload()).includes(HostileSseUpstream.SECRET));
    assertBounded(m);
    await stillServes();
  });

  it('a 5 MB mid-stream error and a 5 MB HTTP 400 error: cut to about 1,000 characters, the key removed', async () => {
    const mid = await failing(() => call('llm-wide', 'secret-mid:5'));
    assert.equal(mid.error.code, 'AGENT_UNAVAILABLE');
    assert.match(mid.error.message, /mid-stream: api_key=\[REDACTED\] m+…$/);
    assertBounded(mid);
    const http = await failing(() => call('llm', 'secret-400:5'));
    assert.equal(http.error.code, 'INVALID_REQUEST');
    assert.match(http.error.message, /HTTP 400: .*bad request, api_key=\[REDACTED\] m+…$/);
    assertBounded(http);
    for (const e of [mid.error, http.error]) assert.ok(!e.message.includes(HostileSseUpstream.SECRET));
    await stillServes('llm-wide');
  });
});
