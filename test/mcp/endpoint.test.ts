import 'reflect-metadata';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ForecastDto } from './fixtures/forecast.dto.js';
import { type BusClient, type HandlerContext, MemoryBroker } from '@openagentio/nestjs';
import {
  McpBusEndpoint,
  McpToolBridge,
  schemaFromDto,
  type McpExposedTool,
  type McpHttpListener,
  type McpToolResult,
} from '@openagentio/nestjs-bridges';
import { bridgeContext, newBus, sleep, waitFor } from './helpers.js';

const addSchema = {
  type: 'object',
  properties: { a: { type: 'number' }, b: { type: 'number' } },
  required: ['a', 'b'],
  additionalProperties: false,
};

const TOOLS: McpExposedTool[] = [
  { target: 'math.add', description: 'adds two numbers', inputSchema: addSchema },
  { target: 'slow.wait', name: 'slow_wait', description: 'waits until cancelled' },
  { target: 'text.words', name: 'words', description: 'streams words' },
  { target: 'session.whoami', name: 'whoami' },
  { target: 'text.many', name: 'many' },
  { target: 'nobody.home', name: 'nobody' },
  { target: 'weather.forecast', name: 'forecast', dto: ForecastDto },
];

function toolText(r: unknown): string {
  const c = (r as { content: Array<{ type: string; text?: string }> }).content;
  return c.map((i) => i.text ?? '').join('');
}

describe('MCP endpoint (bus targets as MCP tools) with the official SDK client over Streamable HTTP', () => {
  const broker = new MemoryBroker();
  let handlers: BusClient;
  let gw1: BusClient;
  let gw2: BusClient;
  let ep1: McpBusEndpoint;
  let ep2: McpBusEndpoint;
  let http1: McpHttpListener;
  let http2: McpHttpListener;
  const aborted: string[] = [];
  const seen: HandlerContext[] = [];
  const clients: Client[] = [];

  before(async () => {
    handlers = await newBus(broker, 'handlers');
    gw1 = await newBus(broker, 'gateway-1');
    gw2 = await newBus(broker, 'gateway-2');
    handlers.handleInvoke('math.add', ({ a, b }: { a: number; b: number }) => a + b);
    handlers.handleInvoke('slow.wait', (_p: unknown, ctx) => {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => resolve('finished'), 10_000);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(t);
          aborted.push(String((ctx.signal.reason as Error)?.message ?? ctx.signal.reason));
          reject(ctx.signal.reason);
        });
      });
    });
    handlers.handleStream('text.words', async function* () {
      for (const w of ['alpha', 'beta', 'gamma']) {
        await sleep(20);
        yield w;
      }
      return { words: 3 };
    });
    handlers.handleStream('text.many', async function* () {
      for (let i = 0; i < 150; i++) yield `w${i} `;
      return 'many done';
    });
    handlers.handleInvoke('session.whoami', (_p: unknown, ctx) => {
      seen.push(ctx);
      return { session_id: ctx.session.session_id ?? null, traceparent: ctx.trace.traceparent ?? null };
    });
    handlers.handleInvoke('weather.forecast', (p: { city: string; days?: number }) => `${p.city}: sunny for ${p.days ?? 1} day(s)`);
    const common = { tools: TOOLS, sessionSecret: 'replica-shared-secret', token: 'endpoint-token-123' };
    ep1 = new McpBusEndpoint({ bus: gw1, ...common });
    ep2 = new McpBusEndpoint({ bus: gw2, ...common });
    await ep1.start();
    await ep2.start();
    http1 = await ep1.listen(0);
    http2 = await ep2.listen(0);
  });

  after(async () => {
    for (const c of clients) await c.close().catch(() => undefined);
    await ep1?.close();
    await ep2?.close();
    await handlers?.close();
    await gw1?.close();
    await gw2?.close();
  });

  /** An SDK client; with `balanced`, every HTTP request goes to the next replica (a round-robin balancer). */
  async function connect(
    balanced = false,
    token = 'endpoint-token-123',
  ): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    let n = 0;
    const urls = [http1.url, http2.url];
    const transport = new StreamableHTTPClientTransport(new URL(http1.url), {
      requestInit: { headers: { Authorization: `Bearer ${token}` } },
      fetch: balanced ? (_url, init) => fetch(urls[n++ % 2], init) : undefined,
    });
    const client = new Client({ name: 'sdk-test', version: '1.0.0' });
    client.onerror = () => {};
    await client.connect(transport);
    clients.push(client);
    return { client, transport };
  }

  it('lists the exposed targets as tools with their input schemas', async () => {
    const { client } = await connect();
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['forecast', 'many', 'math.add', 'nobody', 'slow_wait', 'whoami', 'words']);
    const add = tools.find((t) => t.name === 'math.add')!;
    assert.deepEqual(add.inputSchema, addSchema);
    assert.equal(add.description, 'adds two numbers');
    const forecast = tools.find((t) => t.name === 'forecast')!;
    assert.deepEqual(forecast.inputSchema, schemaFromDto(ForecastDto));
    assert.deepEqual((forecast.inputSchema as { required?: string[] }).required, ['city']);
  });

  it('calls a bus handler (handleInvoke on another BusClient)', async () => {
    const { client } = await connect();
    const r = await client.callTool({ name: 'math.add', arguments: { a: 2, b: 40 } });
    assert.equal(r.isError, undefined);
    assert.equal(toolText(r), '42');
    const f = await client.callTool({ name: 'forecast', arguments: { city: 'Oslo', days: 3 } });
    assert.equal(toolText(f), 'Oslo: sunny for 3 day(s)');
  });

  it('uses the MCP session id as the bus session_id, and _meta.traceparent as trace context', async () => {
    const { client, transport } = await connect();
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const r = await client.callTool({ name: 'whoami', arguments: {}, _meta: { traceparent } });
    const sc = r.structuredContent as { session_id: string; traceparent: string };
    assert.ok(transport.sessionId, 'the endpoint issued a session id');
    assert.equal(sc.session_id, transport.sessionId);
    assert.equal(sc.traceparent, traceparent);
  });

  it('reports invalid arguments and bus errors as isError results', async () => {
    const { client } = await connect();
    const bad = await client.callTool({ name: 'math.add', arguments: { a: 'x' } });
    assert.equal(bad.isError, true);
    assert.match(toolText(bad), /INVALID_REQUEST/);
    assert.match(toolText(bad), /\ba\b/);
    assert.match(toolText(bad), /\bb\b/);
    const dtoBad = await client.callTool({ name: 'forecast', arguments: { city: 'Rome', days: 99 } });
    assert.equal(dtoBad.isError, true);
    assert.match(toolText(dtoBad), /city/);
    assert.match(toolText(dtoBad), /days/);
    const none = await client.callTool({ name: 'nobody', arguments: {} });
    assert.equal(none.isError, true);
    assert.match(toolText(none), /NO_HANDLER/);
    assert.equal((none._meta as Record<string, { code: string }>)['openagentio/error'].code, 'NO_HANDLER');
    await assert.rejects(client.callTool({ name: 'no-such-tool', arguments: {} }), (err: Error) => {
      // The code and the prefix once, as a client shows any server's error.
      assert.equal(err.message, 'MCP error -32602: Tool no-such-tool not found');
      return true;
    });
  });

  it('sends stream deltas as progress notifications when the client asks for progress', async () => {
    const { client } = await connect();
    const progress: Array<{ progress: number; message?: string }> = [];
    const r = await client.callTool({ name: 'words', arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
    assert.deepEqual(r.structuredContent, { words: 3 });
    assert.ok(progress.length >= 2, `progress notifications: ${progress.length}`);
    assert.equal(progress[0].message, 'alpha');
    assert.ok(progress.every((p, i) => i === 0 || p.progress > progress[i - 1].progress));
    // A stream handler with more deltas than a flow-control window, without and with progress.
    const many = await client.callTool({ name: 'many', arguments: {} }, undefined, { timeout: 5000 });
    assert.equal(toolText(many), 'many done');
    let manyProgress = 0;
    await client.callTool({ name: 'many', arguments: {} }, undefined, { timeout: 5000, onprogress: () => manyProgress++ });
    assert.ok(manyProgress >= 100, `progress: ${manyProgress}`);
    // An invoke handler asked for progress: no notifications, just the result.
    const plain = await client.callTool({ name: 'math.add', arguments: { a: 1, b: 1 } }, undefined, {
      onprogress: () => assert.fail('no progress expected'),
    });
    assert.equal(toolText(plain), '2');
  });

  it('forwards cancellation: the bus handler sees its signal abort', async () => {
    const { client } = await connect();
    const ac = new AbortController();
    const before = aborted.length;
    setTimeout(() => ac.abort('user pressed stop'), 200);
    const t0 = Date.now();
    await assert.rejects(client.callTool({ name: 'slow_wait', arguments: {} }, undefined, { signal: ac.signal }));
    assert.ok(Date.now() - t0 < 1000);
    await waitFor(() => aborted.length > before, 2000, 'the handler to see the abort');
    assert.match(aborted.at(-1)!, /cancel/i);
  });

  it('serves one session across replicas (round-robin balancer), cancellation included', async () => {
    const { client, transport } = await connect(true);
    for (let i = 0; i < 4; i++) {
      const r = await client.callTool({ name: 'whoami', arguments: {} });
      assert.equal((r.structuredContent as { session_id: string }).session_id, transport.sessionId);
    }
    assert.ok(new Set(seen.slice(-4).map((c) => c.envelope.from)).size === 2, 'calls went through both gateways');
    const before = aborted.length;
    // Cancel lands on the other replica than the call: broadcast on the bus.
    for (let attempt = 0; attempt < 2; attempt++) {
      const ac = new AbortController();
      setTimeout(() => ac.abort('stop'), 150);
      await assert.rejects(client.callTool({ name: 'slow_wait', arguments: {} }, undefined, { signal: ac.signal }));
    }
    await waitFor(() => aborted.length >= before + 2, 3000, 'both handlers to see their abort');
    assert.ok(ep1.stats.cancelsBroadcast + ep2.stats.cancelsBroadcast >= 1, 'a cancel reached the other replica');
    assert.ok(ep1.stats.cancelledFromBroadcast + ep2.stats.cancelledFromBroadcast >= 1, 'the broadcast cancel was matched');
  });

  it('DELETE of the session ends its calls on every replica', async () => {
    const { client, transport } = await connect(true);
    const before = aborted.length;
    const pending = client.callTool({ name: 'slow_wait', arguments: {} });
    await sleep(150);
    await transport.terminateSession();
    const r = await pending;
    assert.equal(r.isError, true);
    assert.match(toolText(r), /session ended/);
    await waitFor(() => aborted.length > before, 2000, 'the handler to see the abort');
  });

  it('rejects forged session ids (404) and bad tokens (401)', async () => {
    const init = (headers: Record<string, string>) =>
      fetch(http1.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
      });
    const forged = await init({ authorization: 'Bearer endpoint-token-123', 'mcp-session-id': 'made-up.abcdef' });
    assert.equal(forged.status, 404);
    await forged.body?.cancel();
    const noAuth = await init({ 'mcp-session-id': 'x' });
    assert.equal(noAuth.status, 401);
    await noAuth.body?.cancel();
    await assert.rejects(connect(false, 'wrong'), /401|Unauthorized/);
  });

  it('an oversize body is answered 413 (declared or streamed), not a reset connection', async () => {
    const gw = await newBus(broker, 'gateway-413');
    const ep = new McpBusEndpoint({ bus: gw, tools: TOOLS, maxBodyBytes: 1024 });
    const listener = await ep.listen(0);
    try {
      const big = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { pad: 'x'.repeat(200_000) } });
      const declared = await fetch(listener.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: big,
      });
      assert.equal(declared.status, 413);
      assert.match(((await declared.json()) as { error: { message: string } }).error.message, /exceeds the limit of 1024 bytes/);
      // Without a Content-Length (a streamed body) the limit is found while reading.
      const streamed = await fetch(listener.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: new ReadableStream({
          start(c) {
            c.enqueue(new TextEncoder().encode(big));
            c.close();
          },
        }),
        duplex: 'half',
      } as RequestInit);
      assert.equal(streamed.status, 413);
      await streamed.body?.cancel();
    } finally {
      await ep.close();
      await gw.close();
    }
  });

  it('a body nested deeper than 512 levels is a 400 parse error, not a 500', async () => {
    const gw = await newBus(broker, 'gateway-deep');
    const ep = new McpBusEndpoint({ bus: gw, tools: TOOLS });
    const listener = await ep.listen(0);
    try {
      const nested = await fetch(listener.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/list',
          params: { deep: JSON.parse('['.repeat(600) + ']'.repeat(600)) },
        }),
      });
      assert.equal(nested.status, 400);
      const body = (await nested.json()) as { error: { code: number; message: string } };
      assert.equal(body.error.code, -32700);
      assert.match(body.error.message, /nests deeper than 512 levels/);
    } finally {
      await ep.close();
      await gw.close();
    }
  });

  it('a 401 in the middle of a session is AUTH_FAILURE and a permanent failure of the bridge', async () => {
    let allow = true;
    const gw = await newBus(broker, 'gateway-auth');
    const ep = new McpBusEndpoint({ bus: gw, tools: TOOLS, authorize: () => allow });
    const listener = await ep.listen(0);
    const host = await newBus(broker, 'bridge-host-auth');
    const ctx = bridgeContext(host);
    const bridge = new McpToolBridge('auth', { url: listener.url, target_prefix: 'authrt' });
    try {
      await bridge.start(ctx);
      assert.equal(toolText(await host.invoke('authrt.whoami', {})).length > 0, true);
      allow = false;
      const err = await host.invoke('authrt.whoami', {}).catch((e: Error) => e);
      assert.equal((err as { code?: string }).code, 'AUTH_FAILURE');
      assert.equal((err as { retryable?: boolean }).retryable, false);
      await waitFor(() => ctx.failures.length > 0, 2000, 'reportFailure');
      assert.equal(ctx.failures[0].name, 'PermanentBridgeError');
    } finally {
      await bridge.stop();
      await ep.close();
      await host.close();
      await gw.close();
    }
  });

  it('round trip: an mcp_tool bridge over Streamable HTTP (bearer token) in front of the endpoint', async () => {
    const host = await newBus(broker, 'bridge-host');
    const bridge = new McpToolBridge('rt', {
      transport: 'streamable_http',
      url: http2.url,
      token: 'endpoint-token-123',
      target_prefix: 'rt',
    });
    try {
      await bridge.start(bridgeContext(host));
      // "math.add" is not one bus token: it maps to math_add~<hash>; "slow_wait" stays as is.
      const target = bridge.targetOf('math.add');
      assert.match(target, /^rt\.math_add~[0-9a-f]{8}$/);
      assert.ok(bridge.targets.includes('rt.slow_wait'));
      const r = await host.invoke<McpToolResult>(target, { a: 1, b: 2 });
      assert.equal(r.text, '3');
      const bad = new McpToolBridge('rt2', { url: http2.url, token: 'wrong-token-456' });
      await assert.rejects(bad.start(bridgeContext(host)), (err: Error) => {
        assert.equal(err.name, 'PermanentBridgeError');
        assert.doesNotMatch(err.message, /wrong-token-456/);
        return true;
      });
    } finally {
      await bridge.stop();
      await host.close();
    }
  });
});
