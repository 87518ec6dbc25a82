import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local server speaking the OpenAI chat-completions wire format (REFERENCE-deps §3.2), for tests.
 * The scenario is chosen by the `model` field; `<scenario>:<anything>` keeps per-test retry counters apart.
 *
 * | model | behaviour |
 * |---|---|
 * | `normal` (default) | "Hello, bus!" in 5 chunks, finish `stop`, usage chunk, `[DONE]` |
 * | `error-mid` | "Hello" then a `data: {"error":…}` chunk, no `[DONE]` |
 * | `event-error` | "Hello" then `event: error` with `{"error":…}` |
 * | `truncated` | "Hello" then the connection ends without finish_reason or `[DONE]` |
 * | `429-then-ok` / `500-then-ok` | first request of that model answers 429 (retry-after-ms: 20) / 500, then normal |
 * | `always-429`, `http-400`, `http-401` | that HTTP error every time, OpenAI error body |
 * | `slow` | 40 tokens "t0 ", "t1 ", … one every `slowMs` (default 100) |
 * | `tools` | a tool call assembled from deltas, finish `tool_calls` |
 * | `reasoning` | two `reasoning_content` deltas, then "42" |
 * | `handoff` | "Let me transfer you. ", then a call of the first offered `transfer_to_*` tool with `{"reason":"billing question"}`, finish `tool_calls` |
 */
export interface PeerRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: any;
  /** The client closed the connection before the response ended. */
  aborted: boolean;
  completed: boolean;
}

export class OpenAiPeer {
  readonly requests: PeerRequest[] = [];
  private server?: Server;
  private readonly attempts = new Map<string, number>();
  url = '';
  slowMs = 100;
  private readonly sockets = new Set<import('node:net').Socket>();
  private waiters: Array<() => void> = [];

  async start(): Promise<this> {
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/v1`;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server?.close(() => r()) ?? r());
  }

  /** Resolves when a request matching `pred` has aborted or completed. */
  async waitFor(pred: (r: PeerRequest) => boolean, timeoutMs = 5000): Promise<PeerRequest> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.requests.find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error('openai peer: condition not reached in time');
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 20);
      });
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let body: any;
    try {
      body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
    } catch {
      return this.json(res, 400, { error: { message: 'invalid JSON', type: 'invalid_request_error', param: null, code: null } });
    }
    const rec: PeerRequest = { path: req.url ?? '', headers: req.headers, body, aborted: false, completed: false };
    this.requests.push(rec);
    res.on('close', () => {
      if (!res.writableFinished) rec.aborted = true;
      else rec.completed = true;
      this.notify();
    });
    if (req.method === 'GET' && req.url?.endsWith('/models')) {
      return this.json(res, 200, { object: 'list', data: [{ id: 'normal', object: 'model', created: 1700000000, owned_by: 'peer' }] });
    }
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) {
      return this.json(res, 404, {
        error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error', param: null, code: 'not_found' },
      });
    }
    const model: string = typeof body.model === 'string' ? body.model : 'normal';
    const scenario = model.split(':')[0];
    const n = (this.attempts.get(model) ?? 0) + 1;
    this.attempts.set(model, n);
    if ((scenario === '429-then-ok' && n === 1) || scenario === 'always-429') {
      res.setHeader('retry-after-ms', '20');
      return this.json(res, 429, { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    }
    if (scenario === '500-then-ok' && n === 1)
      return this.json(res, 500, { error: { message: 'upstream exploded', type: 'server_error', param: null, code: null } });
    if (scenario === 'http-400')
      return this.json(res, 400, {
        error: { message: 'Invalid value for messages', type: 'invalid_request_error', param: 'messages', code: 'invalid_value' },
      });
    if (scenario === 'http-401')
      return this.json(res, 401, {
        error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' },
      });

    const id = `chatcmpl-${Math.random().toString(36).slice(2, 10)}`;
    const created = 1700000000;
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model,
      system_fingerprint: 'fp_test',
      choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
      usage: null,
      ...extra,
    });
    const usage = { prompt_tokens: 9, completion_tokens: 5, total_tokens: 14 };
    const tokens = scenario === 'slow' ? Array.from({ length: 40 }, (_, i) => `t${i} `) : ['Hel', 'lo', ', ', 'bus', '!'];

    if (!body.stream) {
      if (scenario === 'error-mid' || scenario === 'truncated' || scenario === 'event-error') {
        return this.json(res, 500, { error: { message: 'failed', type: 'server_error', param: null, code: null } });
      }
      return this.json(res, 200, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [
          { index: 0, message: { role: 'assistant', content: tokens.join(''), refusal: null }, logprobs: null, finish_reason: 'stop' },
        ],
        usage,
      });
    }

    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const send = (obj: unknown) => res.write(`data: ${JSON.stringify(obj)}\n\n`);
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    send(chunk({ role: 'assistant', content: '', refusal: null }));
    switch (scenario) {
      case 'error-mid':
        send(chunk({ content: 'Hello' }));
        await wait(10);
        send({
          error: { message: 'The server had an error while processing your request', type: 'server_error', param: null, code: null },
        });
        return void res.end();
      case 'event-error':
        send(chunk({ content: 'Hello' }));
        res.write(
          `event: error\ndata: ${JSON.stringify({ error: { message: 'overloaded', type: 'server_error', param: null, code: null } })}\n\n`,
        );
        return void res.end();
      case 'truncated':
        send(chunk({ content: 'Hello' }));
        await wait(10);
        return void res.end();
      case 'tools':
        send(chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'bus_invoke', arguments: '' } }] }));
        send(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"target":"echo",' } }] }));
        send(chunk({ tool_calls: [{ index: 0, function: { arguments: '"text":"hi"}' } }] }));
        send(chunk({}, 'tool_calls'));
        break;
      case 'handoff': {
        // As a model offered handoff tools does: a little text, then a call of one of them, arguments in pieces.
        const tool = (Array.isArray(body.tools) ? body.tools : [])
          .map((t: { function?: { name?: string } }) => t?.function?.name)
          .find((n: unknown) => typeof n === 'string' && n.startsWith('transfer_to_'));
        send(chunk({ content: 'Let me ' }));
        send(chunk({ content: tool ? 'transfer you. ' : 'answer myself.' }));
        if (tool) {
          send(chunk({ tool_calls: [{ index: 0, id: 'call_h1', type: 'function', function: { name: tool, arguments: '' } }] }));
          send(chunk({ tool_calls: [{ index: 0, function: { arguments: '{"reason":' } }] }));
          send(chunk({ tool_calls: [{ index: 0, function: { arguments: '"billing question"}' } }] }));
        }
        send(chunk({}, tool ? 'tool_calls' : 'stop'));
        break;
      }
      case 'reasoning':
        send(chunk({ reasoning_content: 'Thinking about ' }));
        send(chunk({ reasoning_content: 'the answer.' }));
        send(chunk({ content: '42' }));
        send(chunk({}, 'stop'));
        break;
      default:
        for (const t of tokens) {
          if (res.destroyed) return;
          send(chunk({ content: t }));
          if (scenario === 'slow') await wait(this.slowMs);
        }
        send(chunk({}, 'stop'));
    }
    if (body.stream_options?.include_usage) send({ ...chunk({}), choices: [], usage });
    res.write('data: [DONE]\n\n');
    res.end();
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}
