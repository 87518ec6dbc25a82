import { metrics, type Counter, type Histogram, type Observable, type ObservableCallback } from '@opentelemetry/api';
import type { BusStats } from '../runtime/bus-stats.js';

/** Metric names (see docs/observability.md). */
export const MetricNames = {
  calls: 'acp.bus.calls',
  callDuration: 'acp.bus.call.duration',
  handled: 'acp.bus.handled',
  handleDuration: 'acp.bus.handle.duration',
  inflight: 'acp.bus.inflight',
  framesSent: 'acp.bus.frames.sent',
  invalid: 'acp.bus.messages.invalid',
  dropped: 'acp.bus.messages.dropped',
  retries: 'acp.bus.retries',
  deadLetters: 'acp.bus.dead_letters',
  eventsPublished: 'acp.bus.events.published',
  eventsDelivered: 'acp.bus.events.delivered',
} as const;

/**
 * The bus's metrics through the OpenTelemetry metrics API (no-ops until an SDK is installed). Calls and
 * handler executions are recorded as they end; counters the bus already keeps (frames, invalid messages,
 * retries, dead letters) and in-flight gauges are observed at collection time, so they cost nothing per message.
 */
export class BusMetrics {
  private readonly calls: Counter;
  private readonly callDuration: Histogram;
  private readonly handled: Counter;
  private readonly handleDuration: Histogram;
  private readonly observers: Array<[Observable, ObservableCallback]> = [];
  /** False with the API's no-op meter provider: then recording would only allocate attribute objects. */
  private readonly enabled: boolean;

  /** Whether calls are recorded (an SDK meter provider was registered when the bus was created). */
  get active(): boolean {
    return this.enabled;
  }

  constructor(
    private readonly agentId: string,
    stats: BusStats,
    inflight: () => { calls: number; streams: number; handlers: number },
  ) {
    // The metrics API has no proxy: instruments come from the provider registered when the bus is created, so
    // an SDK must be started before the bus (the demo starts telemetry first thing in main.ts).
    this.enabled = metrics.getMeterProvider().constructor.name !== 'NoopMeterProvider';
    const meter = metrics.getMeter('openagentio-bus');
    const base = { 'acp.agent': agentId };
    this.calls = meter.createCounter(MetricNames.calls, { description: 'Calls made, by kind, target and outcome (ok or the error code)' });
    this.callDuration = meter.createHistogram(MetricNames.callDuration, {
      description: 'Call latency, first request to terminal frame',
      unit: 'ms',
    });
    this.handled = meter.createCounter(MetricNames.handled, { description: 'Requests and events handled, by kind, target and outcome' });
    this.handleDuration = meter.createHistogram(MetricNames.handleDuration, { description: 'Handler execution time', unit: 'ms' });
    const watch = (instrument: Observable, callback: ObservableCallback) => {
      instrument.addCallback(callback);
      this.observers.push([instrument, callback]);
    };
    const observe = (name: string, description: string, read: () => number) =>
      watch(meter.createObservableCounter(name, { description }), (r) => r.observe(read(), base));
    observe(MetricNames.framesSent, 'Reply frames sent', () => stats.framesSent);
    observe(MetricNames.invalid, 'Messages that failed to decode or validate', () => stats.invalidMessages);
    observe(MetricNames.dropped, 'Requests dropped (no reply subject)', () => stats.droppedMessages);
    observe(MetricNames.retries, 'Retries (calls, streams, handlers, subscribers)', () => stats.retries);
    observe(MetricNames.deadLetters, 'Events published to the dead-letter subject', () => stats.deadLetters);
    observe(MetricNames.eventsPublished, 'Events published', () => stats.eventsPublished);
    observe(MetricNames.eventsDelivered, 'Events delivered to subscribers', () => stats.eventsDelivered);
    watch(
      meter.createObservableUpDownCounter(MetricNames.inflight, { description: 'Calls, streams and handler executions in flight' }),
      (r) => {
        const n = inflight();
        r.observe(n.calls, { ...base, 'acp.kind': 'invoke' });
        r.observe(n.streams, { ...base, 'acp.kind': 'stream' });
        r.observe(n.handlers, { ...base, 'acp.kind': 'handle' });
      },
    );
  }

  /**
   * Stops observing this bus's counters (call when the bus closes): otherwise the meter keeps the closed client
   * reachable and keeps reporting its last values for ever.
   */
  close(): void {
    for (const [instrument, callback] of this.observers.splice(0)) instrument.removeCallback(callback);
  }

  recordCall(kind: 'invoke' | 'stream', target: string, outcome: string, ms: number): void {
    if (!this.enabled) return;
    const attrs = { 'acp.agent': this.agentId, 'acp.kind': kind, 'acp.target': target, 'acp.outcome': outcome };
    this.calls.add(1, attrs);
    this.callDuration.record(ms, attrs);
  }

  recordHandled(kind: 'invoke' | 'stream' | 'event', target: string, outcome: string, ms: number): void {
    if (!this.enabled) return;
    const attrs = { 'acp.agent': this.agentId, 'acp.kind': kind, 'acp.target': target, 'acp.outcome': outcome };
    this.handled.add(1, attrs);
    this.handleDuration.record(ms, attrs);
  }
}
