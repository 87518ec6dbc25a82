import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { type BusClient, BusError, type Envelope } from '@openagentio/nestjs';
import { OpenClawChatSseBridge } from '@openagentio/nestjs-bridges';
import { BridgeSupervisor } from '@openagentio/nestjs-bridges/internal/supervision/bridge-supervisor.js';
import { OpenAiPeer } from '../support/openai-peer.js';
import { memoryBuses, quietLogger } from './helpers.js';

describe('openclaw_chat_sse bridge: OpenAI-compatible endpoint as a stream target', () => {
  let peer: OpenAiPeer;
  let env: Awaited<ReturnType<typeof memoryBuses>>;
  let caller: BusClient;
  const supervisors: BridgeSupervisor[] = [];
  const bridge = (name: string, extra: Record<string, unknown> = {}) => {
    const b = new OpenClawChatSseBridge(name, {
      base_url: peer.url,
      token: 'sk-bridge',
      model: 'normal',
      timeout_ms: 5000,
      session_header: 'X-OpenClaw-Session',
      retry_initial_ms: 10,
      ...extra,
    });
    const s = new BridgeSupervisor(b, env.buses[0], quietLogger);
    supervisors.push(s);
    return s.start().then(() => b);
  };

  before(async () => {
    peer = await new OpenAiPeer().start();
    env = await memoryBuses('bridge-host', 'caller');
    caller = env.buses[1];
    await bridge('llm');
  });
  after(async () => {
    for (const s of supervisors) await s.stop();
    await env.close();
    await peer.stop();
  });

  const collect = async (target: string, payload: unknown, opts = {}) => {
    const frames: Envelope[] = [];
    for await (const f of caller.stream(target, payload, { yieldErrors: true, ...opts })) frames.push(f);
    return frames;
  };

  it('maps a normal stream to started, meta, deltas and final (text, finish_reason, usage)', async () => {
    const frames = await collect('llm', { messages: [{ role: 'user', content: 'hi' }] }, { session_id: 'sess-1' });
    const types = frames.map((f) => f.event_type);
    assert.equal(types[0], 'agent.response.started');
    assert.equal(types.at(-1), 'agent.response.final');
    const meta = frames[0].payload as { meta: { model: string; id: string } };
    assert.equal(meta.meta.model, 'normal');
    assert.match(meta.meta.id, /^chatcmpl-/);
    const deltas = frames
      .filter((f) => (f.payload as { delta?: string })?.delta !== undefined)
      .map((f) => (f.payload as { delta: string }).delta);
    assert.deepEqual(deltas, ['Hel', 'lo', ', ', 'bus', '!']);
    const result = (frames.at(-1)!.payload as { result: Record<string, unknown> }).result;
    assert.equal(result.text, 'Hello, bus!');
    assert.equal(result.finish_reason, 'stop');
    assert.deepEqual(result.usage, { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 });
    const req = peer.requests.at(-1)!;
    assert.equal(req.headers.authorization, 'Bearer sk-bridge');
    assert.equal(req.headers['x-openclaw-session'], 'sess-1');
    assert.equal(req.body.stream, true);
    assert.deepEqual(req.body.stream_options, { include_usage: true });
  });

  it('accepts a string or {text} payload and a per-call model', async () => {
    assert.equal(await caller.stream('llm', 'hello').text(), 'Hello, bus!');
    const r = await caller.stream('llm', { text: 'x', model: 'reasoning', system: 'be brief' }).result<{ text: string }>();
    assert.equal(r.text, '42');
    const req = peer.requests.at(-1)!;
    assert.deepEqual(req.body.messages, [
      { role: 'system', content: 'be brief' },
      { role: 'user', content: 'x' },
    ]);
  });

  it('tool-call and reasoning deltas become {data}', async () => {
    const frames = await collect('llm', { text: 'x', model: 'tools' });
    const tools = frames.filter((f) => (f.payload as any)?.data?.tool_calls).map((f) => (f.payload as any).data.tool_calls[0]);
    assert.equal(tools.length, 3);
    assert.equal(tools[0].function.name, 'bus_invoke');
    assert.equal((frames.at(-1)!.payload as any).result.finish_reason, 'tool_calls');
    const rframes = await collect('llm', { text: 'x', model: 'reasoning' });
    assert.deepEqual(
      rframes.filter((f) => (f.payload as any)?.data?.reasoning).map((f) => (f.payload as any).data.reasoning),
      ['Thinking about ', 'the answer.'],
    );
  });

  it('a mid-stream error chunk is an error frame, after the deltas already sent', async () => {
    for (const model of ['error-mid', 'event-error']) {
      const frames = await collect('llm', { text: 'x', model });
      const last = frames.at(-1)!;
      assert.equal(last.event_type, 'agent.response.error', model);
      assert.equal((last.payload as any).code, 'AGENT_UNAVAILABLE');
      assert.match((last.payload as any).message, /mid-stream/);
      assert.ok(frames.some((f) => (f.payload as any)?.delta === 'Hello'));
    }
  });

  it('a stream that ends without [DONE] is an error, never success', async () => {
    await assert.rejects(caller.stream('llm', { text: 'x', model: 'truncated' }).result(), (e: BusError) => {
      assert.equal(e.code, 'AGENT_UNAVAILABLE');
      assert.match(e.message, /without \[DONE\]/);
      assert.equal(e.retryable, true);
      return true;
    });
  });

  it('HTTP errors map to codes; 429 and 5xx before the first byte are retried', async () => {
    await assert.rejects(
      caller.stream('llm', { text: 'x', model: 'http-400' }).result(),
      (e: BusError) => e.code === 'INVALID_REQUEST' && /Invalid value for messages/.test(e.message),
    );
    await assert.rejects(caller.stream('llm', { text: 'x', model: 'http-401' }).result(), (e: BusError) => e.code === 'AUTH_FAILURE');
    assert.equal(await caller.stream('llm', { text: 'x', model: '429-then-ok:bridge' }).text(), 'Hello, bus!');
    assert.equal(peer.requests.filter((r) => r.body.model === '429-then-ok:bridge').length, 2);
    assert.equal(await caller.stream('llm', { text: 'x', model: '500-then-ok:bridge' }).text(), 'Hello, bus!');
    await assert.rejects(
      caller.stream('llm', { text: 'x', model: 'always-429:bridge' }).result(),
      (e: BusError) => e.code === 'BACKPRESSURE_DROP',
    );
    assert.equal(peer.requests.filter((r) => r.body.model === 'always-429:bridge').length, 3); // 1 + max_retries 2
    await assert.rejects(caller.stream('llm', 42).result(), (e: BusError) => e.code === 'INVALID_REQUEST');
  });

  it('aborting the bus call aborts the HTTP request', async () => {
    peer.slowMs = 50;
    const ac = new AbortController();
    let n = 0;
    // (an aborted StreamCall ends the loop quietly or throws, depending on timing; either is fine here)
    await (async () => {
      for await (const f of caller.stream('llm', { text: 'x', model: 'slow:bridge-abort' }, { signal: ac.signal })) {
        if ((f.payload as any)?.delta && ++n === 2) ac.abort();
      }
    })().catch(() => undefined);
    assert.equal(n, 2);
    const rec = await peer.waitFor((r) => r.body.model === 'slow:bridge-abort' && (r.aborted || r.completed));
    assert.equal(rec.aborted, true);
  });

  it('timeout_ms bounds the upstream request (AGENT_TIMEOUT)', async () => {
    await bridge('llm.short', { timeout_ms: 150 });
    peer.slowMs = 100;
    await assert.rejects(
      caller.stream('llm.short', { text: 'x', model: 'slow:timeout' }).result(),
      (e: BusError) => e.code === 'AGENT_TIMEOUT',
    );
    const rec = await peer.waitFor((r) => r.body.model === 'slow:timeout' && (r.aborted || r.completed));
    assert.equal(rec.aborted, true);
  });

  it('an unreachable endpoint is AGENT_UNAVAILABLE after retries', async () => {
    await bridge('llm.down', { base_url: 'http://127.0.0.1:9/v1', max_retries: 1 });
    await assert.rejects(
      caller.stream('llm.down', 'x').result(),
      (e: BusError) => e.code === 'AGENT_UNAVAILABLE' && /cannot reach/.test(e.message),
    );
  });
});
