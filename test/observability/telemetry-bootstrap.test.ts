import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BusClient, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';
import { currentTelemetry, metricsExportersFromEnv, startTelemetry, tracesExportersFromEnv } from '../../src/observability/telemetry.js';
import { RecordingLogger, until } from '../support/bus-fixture.js';
import { OtlpReceiver } from './otlp-receiver.js';

describe('startTelemetry(): the demo bootstrap, configured by OTEL_* variables', () => {
  it('exports nothing unless asked: traces need OTEL_TRACES_EXPORTER or an OTLP endpoint', () => {
    assert.deepEqual(tracesExportersFromEnv({}), []);
    assert.deepEqual(metricsExportersFromEnv({}), []);
    assert.deepEqual(tracesExportersFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), ['otlp']);
    assert.deepEqual(tracesExportersFromEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces' }), ['otlp']);
    assert.deepEqual(tracesExportersFromEnv({ OTEL_TRACES_EXPORTER: 'console' }), ['console']);
    assert.deepEqual(tracesExportersFromEnv({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), []);
    assert.deepEqual(metricsExportersFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), ['otlp']);
    assert.deepEqual(metricsExportersFromEnv({ OTEL_METRICS_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318' }), []);
    assert.deepEqual(
      metricsExportersFromEnv({ OTEL_METRICS_EXPORTER: 'prometheus' }),
      [],
      'prometheus is the /metrics endpoint, always on',
    );
  });

  describe('with OTEL_EXPORTER_OTLP_ENDPOINT (http/json) pointing at a local receiver', () => {
    let receiver: OtlpReceiver;
    const saved = { ...process.env };

    before(async () => {
      receiver = await OtlpReceiver.start();
      for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
      process.env.OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json';
      process.env.OTEL_BSP_SCHEDULE_DELAY = '20';
    });
    after(async () => {
      await currentTelemetry()?.shutdown();
      await receiver.close();
      for (const k of Object.keys(process.env)) if (k.startsWith('OTEL_')) delete process.env[k];
      Object.assign(process.env, saved);
    });

    it('bus spans reach the collector under the service name, metrics are pushed and served as Prometheus text', async () => {
      const telemetry = await startTelemetry();
      assert.equal(await startTelemetry(), telemetry, 'idempotent');
      assert.equal(telemetry.tracesExported, true);
      assert.deepEqual(telemetry.metricsPushed, ['otlp']);
      assert.ok(telemetry.prometheus);

      const broker = new MemoryBroker();
      const bus = new BusClient(new MemoryTransport({ broker }), { agentId: 'boot', logger: new RecordingLogger() });
      await bus.connect();
      await bus.handleInvoke('boot.echo', (p) => p).ready;
      assert.equal(await bus.invoke('boot.echo', 'hi'), 'hi');

      await until(() => receiver.spans().length >= 2, 5000, 'spans at the collector');
      assert.deepEqual(
        receiver
          .spans()
          .map((s) => s.name)
          .sort(),
        ['handle boot.echo', 'invoke boot.echo'],
      );
      assert.equal(receiver.serviceName(), 'openagentio-demo');

      // GET /metrics body, straight from the exporter's request handler.
      const text = await new Promise<string>((resolve) => {
        const res = {
          statusCode: 0,
          headers: {} as Record<string, unknown>,
          setHeader(k: string, v: unknown) {
            this.headers[k] = v;
          },
          end(body: string) {
            resolve(body);
          },
        };
        telemetry.prometheus!.getMetricsRequestHandler({} as never, res as never);
      });
      assert.match(text, /^acp_bus_calls_total\{[^}]*acp_target="boot\.echo"[^}]*acp_outcome="ok"[^}]*\} 1/m);

      await bus.close();
      await telemetry.shutdown(); // flushes: the periodic metric reader exports once more
      assert.ok(
        receiver.bodies.some((b) => b.path === '/v1/metrics'),
        'metrics pushed over OTLP',
      );
      const metricsBody = JSON.stringify(receiver.bodies.filter((b) => b.path === '/v1/metrics').map((b) => b.body));
      assert.match(metricsBody, /acp\.bus\.calls/);
    });
  });
});
