import 'reflect-metadata';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { logs, SeverityNumber } from '@opentelemetry/api';
import { InMemoryLogRecordExporter, LoggerProvider, SimpleLogRecordProcessor, type ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { INestApplication } from '@nestjs/common';
import { AUDIT_EVENT_SERVED, AUDIT_LOGGER, BusClient, BusError, type HandlerContext } from '@openagentio/nestjs';
import { AUDIT_EVENT_GATEWAY } from '@openagentio/nestjs-gateway';
import { gatewayApp } from '../gateway/gateway-app.js';
import { installTracing } from '../observability/otel-test-sdk.js';
import { quietLogger } from '../bridge/helpers.js';
import { until } from '../support/bus-fixture.js';
import { transportFixtures, type TransportEnv } from '../support/transports.js';

// Issue 27 item 6: an opt-in audit trail as OpenTelemetry log records, read back through the official SDK's
// in-memory exporter: who called what, how it ended, how long, which trace; never a payload.

const exporter = new InMemoryLogRecordExporter();
logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [new SimpleLogRecordProcessor({ exporter })] }));
const tracing = installTracing();

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const TRACEPARENT = `00-${TRACE}-00f067aa0ba902b7-01`;
/** Strings that only ever travel in payloads: none may reach an audit record. */
const SECRETS = ['SECRET-CARD-4242', 'SECRET-RESULT-99', 'SECRET-DELTA-7', 'SECRET-STREAM-IN', 'SECRET-BODY-5'];

/** Every attribute key a record carried in this file's tests: docs/security.md must name each. */
const seenKeys = new Set<string>();
after(() => {
  const doc = readFileSync(new URL('../../../docs/security.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## Audit trail'));
  for (const key of seenKeys) assert.ok(section.includes(`\`${key}\``), `docs/security.md "Audit trail" does not name ${key}`);
});

function served(): ReadableLogRecord[] {
  return exporter.getFinishedLogRecords().filter((r) => r.eventName === AUDIT_EVENT_SERVED);
}

function assertNoPayload(records: ReadableLogRecord[]): void {
  for (const r of records) for (const k of Object.keys(r.attributes)) seenKeys.add(k);
  const text = JSON.stringify(records.map((r) => ({ body: r.body, attributes: r.attributes })));
  for (const s of SECRETS) assert.ok(!text.includes(s), `"${s}" is in an audit record: ${text}`);
}

for (const fixture of transportFixtures) {
  describe(`audit trail of served calls [${fixture.name}]`, () => {
    let env: TransportEnv;
    let router: BusClient;
    let billing: BusClient;

    before(async () => {
      env = await fixture.setup();
      router = new BusClient(env.newTransport(), { agentId: 'router', logger: quietLogger });
      billing = new BusClient(env.newTransport(), { agentId: 'billing', logger: quietLogger, audit: true });
      await Promise.all([router.connect(), billing.connect()]);
      // Awaited: over NATS a subscription must reach the server before the first call (else NO_HANDLER).
      await billing.handleInvoke('billing.charge', (p: { card: string }) => ({ charged: p.card.length, note: 'SECRET-RESULT-99' })).ready;
      await billing.handleInvoke('billing.fail', () => {
        throw new BusError('INVALID_REQUEST', 'card declined');
      }).ready;
      const lines = billing.handleStream('billing.lines', async function* (_p: unknown, _ctx: HandlerContext) {
        yield { delta: 'SECRET-DELTA-7' };
        yield { delta: 'two' };
      });
      await lines.ready;
      await router.handleInvoke('router.ping', () => 'pong').ready;
    });
    after(async () => {
      await Promise.all([router?.close(), billing?.close()]);
      await env?.teardown();
    });

    it('an invoke served: one INFO record with caller, tenant, user, target, outcome, duration and trace id, and no payload', async () => {
      exporter.reset();
      tracing.reset();
      const reply = await router.invoke(
        'billing.charge',
        { card: 'SECRET-CARD-4242' },
        { tenant_id: 'acme', user_id: 'ann', traceparent: TRACEPARENT },
      );
      assert.deepEqual(reply, { charged: 16, note: 'SECRET-RESULT-99' });
      await until(() => served().length === 1, 3000, 'the audit record');
      const [r] = served();
      assert.equal(r.instrumentationScope.name, AUDIT_LOGGER);
      assert.equal(r.severityNumber, SeverityNumber.INFO);
      const a = r.attributes;
      assert.equal(a['acp.audit.source'], 'bus');
      assert.equal(a['acp.agent'], 'billing');
      assert.equal(a['acp.caller'], 'router');
      assert.equal(a['acp.tenant_id'], 'acme');
      assert.equal(a['acp.user_id'], 'ann');
      assert.equal(a['acp.target'], 'billing.charge');
      assert.equal(a['acp.kind'], 'invoke');
      assert.equal(a['acp.outcome'], 'ok');
      assert.equal(a['acp.trace_id'], TRACE);
      assert.equal(typeof a['acp.request_id'], 'string');
      assert.ok(typeof a['acp.duration_ms'] === 'number' && a['acp.duration_ms'] >= 0);
      assert.equal(r.spanContext?.traceId, TRACE, 'the record belongs to the trace (OTLP backends link it)');
      const handle = tracing.finished().find((s) => s.name === 'handle billing.charge');
      assert.ok(handle, 'a handler span was recorded');
      assert.equal(r.spanContext?.spanId, handle.spanContext().spanId, 'and to the handler span');
      assertNoPayload(served());
    });

    it('a failed invoke is a WARN record with the error code (not its message); a stream is one record, no delta in it', async () => {
      exporter.reset();
      await assert.rejects(router.invoke('billing.fail', { card: 'SECRET-CARD-4242' }, { tenant_id: 'acme' }), /card declined/);
      const lines: unknown[] = [];
      for await (const d of router.stream('billing.lines', { text: 'SECRET-STREAM-IN' }, { user_id: 'bob' })) lines.push(d);
      assert.ok(lines.length >= 2);
      await until(() => served().length === 2, 3000, 'two audit records');
      const fail = served().find((r) => r.attributes['acp.target'] === 'billing.fail')!;
      assert.equal(fail.severityNumber, SeverityNumber.WARN);
      assert.equal(fail.attributes['acp.outcome'], 'INVALID_REQUEST');
      assert.ok(!JSON.stringify(fail.attributes).includes('card declined'));
      const stream = served().find((r) => r.attributes['acp.target'] === 'billing.lines')!;
      assert.equal(stream.attributes['acp.kind'], 'stream');
      assert.equal(stream.attributes['acp.outcome'], 'ok');
      assert.equal(stream.attributes['acp.user_id'], 'bob');
      assertNoPayload(served());
    });

    it('a bus without audit records nothing', async () => {
      exporter.reset();
      assert.equal(await billing.invoke('router.ping', {}), 'pong');
      assert.equal(exporter.getFinishedLogRecords().length, 0);
    });
  });
}

describe('audit trail of gateway requests', () => {
  let env: TransportEnv;
  let bus: BusClient;
  let app: INestApplication;
  let url: string;
  const gatewayRecords = () => exporter.getFinishedLogRecords().filter((r) => r.eventName === AUDIT_EVENT_GATEWAY);

  before(async () => {
    env = await transportFixtures[0].setup();
    bus = new BusClient(env.newTransport(), { agentId: 'gw', logger: quietLogger, audit: true });
    await bus.connect();
    bus.handleInvoke('billing.charge', () => ({ note: 'SECRET-RESULT-99' }));
    ({ app, url } = await gatewayApp(bus, {
      invokeTargets: ['billing.charge'],
      audit: true,
      auth: { bearerTokens: { 'token-ann': { tenant_id: 'acme', user_id: 'ann', subject: 'ann@acme' } } },
    }));
  });
  after(async () => {
    await app?.close();
    await bus?.close();
    await env?.teardown();
  });

  it('one record per request, refusals included: identity, method, path without the query, target, status, outcome, trace id; no body', async () => {
    exporter.reset();
    const ok = await fetch(`${url}/v1/agents/billing.charge/invoke?access_token=SECRET-BODY-5`, {
      method: 'POST',
      headers: { authorization: 'Bearer token-ann', 'content-type': 'application/json', 'x-traceparent': TRACEPARENT },
      body: JSON.stringify({ card: 'SECRET-CARD-4242' }),
    });
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /SECRET-RESULT-99/);
    const refused = await fetch(`${url}/v1/agents/billing.charge/invoke`, {
      method: 'POST',
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
    assert.equal(refused.status, 401);
    await refused.text();
    await until(() => gatewayRecords().length === 2, 3000, 'two gateway records');
    const [first, second] = gatewayRecords();
    assert.equal(first.attributes['acp.audit.source'], 'gateway');
    assert.equal(first.attributes['http.request.method'], 'POST');
    assert.equal(first.attributes['url.path'], '/v1/agents/billing.charge/invoke');
    assert.equal(first.attributes['acp.target'], 'billing.charge');
    assert.equal(first.attributes['http.response.status_code'], 200);
    assert.equal(first.attributes['acp.outcome'], 'ok');
    assert.equal(first.attributes['acp.tenant_id'], 'acme');
    assert.equal(first.attributes['acp.user_id'], 'ann');
    assert.equal(first.attributes['acp.subject'], 'ann@acme');
    assert.equal(first.attributes['acp.trace_id'], TRACE);
    assert.equal(second.attributes['http.response.status_code'], 401);
    assert.equal(second.attributes['acp.outcome'], 'AUTH_FAILURE');
    assert.equal(second.severityNumber, SeverityNumber.WARN);
    assert.equal(second.attributes['acp.tenant_id'], undefined);
    // The bus that served the call recorded it too, with the gateway's tenant and trace.
    await until(() => served().length === 1, 3000, 'the bus record');
    assert.equal(served()[0].attributes['acp.tenant_id'], 'acme');
    assert.equal(served()[0].attributes['acp.trace_id'], TRACE);
    assertNoPayload([...gatewayRecords(), ...served()]);
  });
});
