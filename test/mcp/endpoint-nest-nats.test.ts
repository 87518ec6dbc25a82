import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Controller, ValidationPipe, type INestMicroservice } from '@nestjs/common';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ForecastDto } from './fixtures/forecast.dto.js';
import { BusClient, Invoke, NatsTransport, Payload, Session, Signal, type SessionInfo } from '@openagentio/nestjs';
import { McpBusEndpoint, type McpHttpListener } from '@openagentio/nestjs-bridges';
import { NatsServer } from '../support/nats-server.js';
import { startNestBusApp } from '../support/nest-bus-app.js';
import { deferred, RecordingLogger } from '../support/bus-fixture.js';

const started = deferred<void>();
const aborted = deferred<unknown>();

/** A Nest agent in its own app, reachable only over NATS. */
@Controller()
class WeatherAgent {
  @Invoke('weather.forecast')
  forecast(@Payload() q: ForecastDto, @Session() s: SessionInfo) {
    assert.ok(q instanceof ForecastDto, 'the ValidationPipe built the DTO');
    return { forecast: `${q.city}: sunny for ${q.days ?? 1} day(s)`, session: s.session_id ?? null };
  }

  @Invoke('weather.research')
  research(@Signal() signal: AbortSignal) {
    started.resolve();
    return new Promise((_, reject) => signal.addEventListener('abort', () => (aborted.resolve(signal.reason), reject(signal.reason))));
  }
}

function text(r: unknown): string {
  return (r as { content: Array<{ text?: string }> }).content.map((c) => c.text ?? '').join('');
}

describe('MCP endpoint → NATS → a Nest @Invoke handler (official SDK client)', () => {
  let nats: NatsServer;
  let app: INestMicroservice;
  let gateway: BusClient;
  let endpoint: McpBusEndpoint;
  let http: McpHttpListener;
  let client: Client;

  before(async () => {
    nats = await NatsServer.start();
    app = await startNestBusApp({
      agentId: 'weather',
      transport: { nats: { servers: nats.url } },
      controllers: [WeatherAgent],
      configure: (a) => a.useGlobalPipes(new ValidationPipe({ transform: true })),
    });

    // The MCP endpoint runs on another NATS connection: everything it calls crosses the server.
    gateway = new BusClient(new NatsTransport({ servers: nats.url }), { agentId: 'mcp-gateway', logger: new RecordingLogger() });
    await gateway.connect();
    endpoint = new McpBusEndpoint({
      bus: gateway,
      tools: [
        { target: 'weather.forecast', name: 'forecast', description: 'a forecast', dto: ForecastDto },
        { target: 'weather.research', name: 'research', description: 'runs until cancelled' },
      ],
    });
    await endpoint.start();
    http = await endpoint.listen(0);
    client = new Client({ name: 'sdk-over-nats', version: '1.0.0' });
    client.onerror = () => {};
    await client.connect(new StreamableHTTPClientTransport(new URL(http.url)));
  });

  after(async () => {
    await client?.close().catch(() => undefined);
    await endpoint?.close();
    await gateway?.close();
    await app?.close();
    await nats?.stop();
  });

  it('lists the tools, with the input schema derived from the handler DTO', async () => {
    const { tools } = await client.listTools();
    assert.deepEqual(tools.map((t) => t.name).sort(), ['forecast', 'research']);
    const schema = tools.find((t) => t.name === 'forecast')!.inputSchema as { properties: Record<string, unknown>; required?: string[] };
    assert.deepEqual(Object.keys(schema.properties).sort(), ['city', 'days']);
    assert.deepEqual(schema.required, ['city']);
  });

  it('calls the Nest handler across NATS, with the MCP session as the bus session', async () => {
    const r = await client.callTool({ name: 'forecast', arguments: { city: 'Oslo', days: 3 } });
    assert.notEqual(r.isError, true);
    const body = JSON.parse(text(r)) as { forecast: string; session: string | null };
    assert.equal(body.forecast, 'Oslo: sunny for 3 day(s)');
    assert.ok(body.session, 'the handler saw a session id');
  });

  it('bad arguments are an isError result naming the field', async () => {
    const r = await client.callTool({ name: 'forecast', arguments: { city: 'Atlantis' } });
    assert.equal(r.isError, true);
    assert.match(text(r), /city/);
  });

  it('cancelling the MCP call mid-way aborts the Nest handler on the other side of NATS', async () => {
    const ac = new AbortController();
    const call = client.callTool({ name: 'research', arguments: {} }, undefined, { signal: ac.signal });
    await started.promise;
    ac.abort('user pressed stop');
    await assert.rejects(call);
    const reason = (await aborted.promise) as { code?: string };
    assert.equal(reason.code, 'AGENT_UNAVAILABLE');
  });
});
