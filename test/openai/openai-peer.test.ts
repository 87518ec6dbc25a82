import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { OpenAiPeer } from '../support/openai-peer.js';

// The local chat-completions peer is proven against the official client before the bridge is tested against it.
describe('openai peer (test/support/openai-peer.ts) speaks the chat-completions wire format', () => {
  let peer: OpenAiPeer;
  let client: OpenAI;
  before(async () => {
    peer = await new OpenAiPeer().start();
    client = new OpenAI({ baseURL: peer.url, apiKey: 'sk-test', maxRetries: 0 });
  });
  after(() => peer.stop());

  it('normal: streamed text, finish_reason stop, usage', async () => {
    const stream = await client.chat.completions.create({
      model: 'normal',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: unknown;
    for await (const c of stream) {
      text += c.choices[0]?.delta?.content ?? '';
      finish = c.choices[0]?.finish_reason ?? finish;
      if (c.usage) usage = c.usage;
    }
    assert.equal(text, 'Hello, bus!');
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 });
    assert.equal(peer.requests.at(-1)!.headers.authorization, 'Bearer sk-test');
  });

  it('non-streaming completion', async () => {
    const r = await client.chat.completions.create({ model: 'normal', messages: [{ role: 'user', content: 'hi' }] });
    assert.equal(r.choices[0].message.content, 'Hello, bus!');
  });

  it('tools: tool call assembled from deltas', async () => {
    const s = client.chat.completions.stream({
      model: 'tools',
      messages: [{ role: 'user', content: 'x' }],
      tools: [{ type: 'function', function: { name: 'bus_invoke', parameters: { type: 'object' } } }],
    });
    const final = await s.finalChatCompletion();
    assert.equal(final.choices[0].finish_reason, 'tool_calls');
    const call = final.choices[0].message.tool_calls![0] as { function: { arguments: string } };
    assert.equal(call.function.arguments, '{"target":"echo","text":"hi"}');
  });

  it('error-mid and event-error make iteration throw', async () => {
    for (const model of ['error-mid', 'event-error']) {
      const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'x' }], stream: true });
      let text = '';
      await assert.rejects(async () => {
        for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
      }, OpenAI.APIError);
      assert.equal(text, 'Hello');
    }
  });

  it('truncated: the official client ends quietly without finish_reason (pitfall the bridge must catch)', async () => {
    const stream = await client.chat.completions.create({ model: 'truncated', messages: [{ role: 'user', content: 'x' }], stream: true });
    let finish: string | null = null;
    for await (const c of stream) finish = c.choices[0]?.finish_reason ?? finish;
    assert.equal(finish, null);
  });

  it('429-then-ok is retried by the client; http-400 is BadRequestError', async () => {
    const retrying = new OpenAI({ baseURL: peer.url, apiKey: 'k', maxRetries: 1 });
    const r = await retrying.chat.completions.create({ model: '429-then-ok:peer', messages: [{ role: 'user', content: 'x' }] });
    assert.equal(r.choices[0].message.content, 'Hello, bus!');
    const reqs = peer.requests.filter((q) => q.body.model === '429-then-ok:peer');
    assert.deepEqual(
      reqs.map((q) => q.headers['x-stainless-retry-count']),
      ['0', '1'],
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'http-400', messages: [] }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.status === 400,
    );
  });

  it('slow: aborting the request closes the connection at the peer', async () => {
    peer.slowMs = 30;
    const ac = new AbortController();
    const stream = await client.chat.completions.create(
      { model: 'slow:peer-abort', messages: [{ role: 'user', content: 'x' }], stream: true },
      { signal: ac.signal },
    );
    let n = 0;
    for await (const _ of stream) {
      if (++n === 3) ac.abort();
    }
    const rec = await peer.waitFor((r) => r.body.model === 'slow:peer-abort' && (r.aborted || r.completed));
    assert.equal(rec.aborted, true);
  });
});
