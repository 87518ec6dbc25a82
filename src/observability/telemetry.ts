import { diag } from '@opentelemetry/api';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import {
  ConsoleMetricExporter,
  PeriodicExportingMetricReader,
  type IMetricReader,
  type PushMetricExporter,
} from '@opentelemetry/sdk-metrics';
import { NodeSDK } from '@opentelemetry/sdk-node';
import { SpanRing } from '@openagentio/nestjs';

/**
 * The demo's OpenTelemetry bootstrap, configured by the standard `OTEL_*` environment variables.
 *
 * - Traces are exported only when asked for: `OTEL_TRACES_EXPORTER` (otlp, console, zipkin) or an OTLP endpoint
 *   (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set. Protocol, headers, sampler,
 *   batch sizes… follow the usual variables (`OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_TRACES_SAMPLER`, …).
 * - Metrics are always collected for the Prometheus text at `GET /metrics` (no extra port: the exporter's server
 *   is not started); they are also pushed when `OTEL_METRICS_EXPORTER` says `otlp`/`console`, or when an OTLP
 *   endpoint is set and `OTEL_METRICS_EXPORTER` is unset.
 * - Logs: only with `OTEL_LOGS_EXPORTER`.
 * - `OTEL_SDK_DISABLED=true` turns everything off; `OTEL_SERVICE_NAME` names the service (default `openagentio-demo`).
 *
 * Call it before the Nest application (and so the BusClient) is created: the OpenTelemetry metrics API has no
 * proxy, so meters obtained before an SDK is registered stay no-ops.
 */
export interface TelemetryOptions {
  /** Service name when OTEL_SERVICE_NAME is not set. Default `openagentio-demo`. */
  serviceName?: string;
  /** More metric readers (e.g. a test reader); the Prometheus one and those the environment asks for are always added. */
  metricReaders?: IMetricReader[];
}

export interface Telemetry {
  /** Serves `GET /metrics` (see MetricsController); undefined when the SDK is disabled. */
  readonly prometheus?: PrometheusExporter;
  /** Whether spans are exported anywhere. */
  readonly tracesExported: boolean;
  /** Push metric exporters in use (`otlp`, `console`). */
  readonly metricsPushed: string[];
  /** Flushes and stops everything (call on shutdown). */
  shutdown(): Promise<void>;
}

let current: Telemetry | undefined;

/** The telemetry started by `startTelemetry`, if any. */
export function currentTelemetry(): Telemetry | undefined {
  return current;
}

function list(v: string | undefined): string[] {
  return (v ?? '')
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s) => s && s !== 'null');
}

function set(v: string | undefined): boolean {
  return v !== undefined && v.trim() !== '';
}

/** Which traces exporters the environment asks for ([] = none). */
export function tracesExportersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const named = list(env.OTEL_TRACES_EXPORTER);
  if (named.includes('none')) return [];
  if (named.length > 0) return named;
  return set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) ? ['otlp'] : [];
}

/** Which push metric exporters the environment asks for ([] = only the Prometheus endpoint). */
export function metricsExportersFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const named = list(env.OTEL_METRICS_EXPORTER);
  if (named.includes('none')) return [];
  if (named.length > 0) return named.filter((n) => n === 'otlp' || n === 'console');
  return set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT) ? ['otlp'] : [];
}

async function otlpMetricExporter(env: NodeJS.ProcessEnv): Promise<PushMetricExporter> {
  const protocol = (env.OTEL_EXPORTER_OTLP_METRICS_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? '').trim() || 'http/protobuf';
  // The OTLP metric exporters come with @opentelemetry/sdk-node; loaded only when asked for.
  const pkg =
    protocol === 'grpc'
      ? '@opentelemetry/exporter-metrics-otlp-grpc'
      : protocol === 'http/json'
        ? '@opentelemetry/exporter-metrics-otlp-http'
        : '@opentelemetry/exporter-metrics-otlp-proto';
  const mod = (await import(pkg)) as { OTLPMetricExporter: new () => PushMetricExporter };
  return new mod.OTLPMetricExporter();
}

function positive(v: string | undefined): number | undefined {
  const n = Number(v);
  return v !== undefined && Number.isFinite(n) && n > 0 ? n : undefined;
}

/**
 * Starts the OpenTelemetry SDK for this process (once; later calls return the same Telemetry).
 *
 * @example
 * // src/main.ts, first thing in bootstrap():
 * const telemetry = await startTelemetry();
 */
export async function startTelemetry(options: TelemetryOptions = {}): Promise<Telemetry> {
  if (current) return current;
  const env = process.env;
  const disabled = (env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true';
  if (disabled) {
    current = { tracesExported: false, metricsPushed: [], shutdown: async () => {} };
    return current;
  }
  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const readers: IMetricReader[] = [prometheus, ...(options.metricReaders ?? [])];
  const pushed: string[] = [];
  const interval = positive(env.OTEL_METRIC_EXPORT_INTERVAL) ?? 60_000;
  const timeout = Math.min(positive(env.OTEL_METRIC_EXPORT_TIMEOUT) ?? 30_000, interval);
  for (const name of metricsExportersFromEnv(env)) {
    try {
      const exporter = name === 'console' ? new ConsoleMetricExporter() : await otlpMetricExporter(env);
      readers.push(new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: interval, exportTimeoutMillis: timeout }));
      pushed.push(name);
    } catch (err) {
      diag.warn(`metrics exporter "${name}" unavailable: ${(err as Error).message}`);
    }
  }
  const traces = tracesExportersFromEnv(env);
  // Without an exporter, the spans go to a ring of the recent ones that the console's conversations read over the
  // bus (docs/console.md; CONSOLE_SPANS=0: none, CONSOLE_SPAN_RING: how many, default 2 000). With one, they go
  // to the backend (the console links there) and the SDK's own processors from the environment.
  const ring =
    traces.length === 0 && env.CONSOLE_SPANS?.trim() !== '0'
      ? new SpanRing(Math.floor(positive(env.CONSOLE_SPAN_RING) ?? 2_000))
      : undefined;
  const sdk = new NodeSDK({
    serviceName: set(env.OTEL_SERVICE_NAME) ? undefined : (options.serviceName ?? 'openagentio-demo'),
    metricReaders: readers,
    // No exporter asked for: nothing sent to a default localhost:4318; only the ring, if any (else spans are no-ops).
    ...(traces.length === 0 ? { spanProcessors: ring ? [ring] : [] } : {}),
    ...(set(env.OTEL_LOGS_EXPORTER) ? {} : { logRecordProcessors: [] }),
  });
  sdk.start();
  SpanRing.install(ring);
  let stopped: Promise<void> | undefined;
  current = {
    prometheus,
    tracesExported: traces.length > 0,
    metricsPushed: pushed,
    shutdown: () => (stopped ??= sdk.shutdown().catch((err: unknown) => diag.warn(`telemetry shutdown: ${(err as Error).message}`))),
  };
  return current;
}
