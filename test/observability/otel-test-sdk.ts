import { context, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace';

/**
 * A tracing SDK for tests, registered globally once per test process: every span ends up in `spans`
 * (InMemorySpanExporter; `reset()` between tests), plus any extra exporters given to `installTracing`.
 */
export interface TestTracing {
  readonly spans: InMemorySpanExporter;
  readonly provider: TracerProvider;
  reset(): void;
  finished(): ReadableSpan[];
}

let installed: TestTracing | undefined;

export function installTracing(extra: SpanExporter[] = []): TestTracing {
  if (installed) return installed;
  const spans = new InMemorySpanExporter();
  const provider = new TracerProvider({
    spanProcessors: [new SimpleSpanProcessor({ exporter: spans }), ...extra.map((e) => new SimpleSpanProcessor({ exporter: e }))],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  installed = {
    spans,
    provider,
    reset: () => spans.reset(),
    finished: () => spans.getFinishedSpans(),
  };
  return installed;
}

const KIND = ['INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

export function kindName(k: SpanKind): string {
  return KIND[k] ?? String(k);
}

/**
 * The spans as an indented tree (children under their parent, by start time), one line per span:
 * `name [KIND] status attributes…`. With `ids`, trace and span ids are shown too (for docs).
 */
export function renderTree(spans: ReadableSpan[], opts: { ids?: boolean; attributes?: string[] } = {}): string {
  const byId = new Map(spans.map((s) => [s.spanContext().spanId, s]));
  const children = new Map<string, ReadableSpan[]>();
  const roots: ReadableSpan[] = [];
  for (const s of spans) {
    const p = s.parentSpanContext?.spanId;
    if (p && byId.has(p)) {
      const list = children.get(p) ?? [];
      list.push(s);
      children.set(p, list);
    } else roots.push(s);
  }
  const start = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];
  const lines: string[] = [];
  const keys = opts.attributes ?? [];
  const walk = (s: ReadableSpan, depth: number) => {
    const status = s.status.code === SpanStatusCode.ERROR ? 'ERROR' : s.status.code === SpanStatusCode.OK ? 'OK' : 'UNSET';
    const attrs = keys.filter((k) => s.attributes[k] !== undefined).map((k) => `${k}=${String(s.attributes[k])}`);
    const events = s.events.map((e) => `event:${e.name}`);
    const ids = opts.ids
      ? ` trace=${s.spanContext().traceId} span=${s.spanContext().spanId}${s.parentSpanContext ? ` parent=${s.parentSpanContext.spanId}` : ''}`
      : '';
    lines.push(
      `${'  '.repeat(depth)}${depth ? '└─ ' : ''}${s.name} [${kindName(s.kind)}] ${status}${ids}${[...attrs, ...events].length ? ' ' + [...attrs, ...events].join(' ') : ''}`,
    );
    for (const c of (children.get(s.spanContext().spanId) ?? []).sort((a, b) => start(a) - start(b))) walk(c, depth + 1);
  };
  for (const r of roots.sort((a, b) => start(a) - start(b))) walk(r, 0);
  return lines.join('\n');
}

/**
 * The span tree of the three-agent call in tracing.test.ts (gateway → A → stream B → C, C fails), as renderTree
 * prints it; docs.test.ts checks that the trace dump in docs/observability.md has the same shape.
 */
export const THREE_AGENT_ERROR_TREE: readonly string[] = [
  'invoke obs.a [CLIENT] ERROR acp.error.code=AGENT_UNAVAILABLE',
  '  └─ handle obs.a [SERVER] ERROR acp.error.code=AGENT_UNAVAILABLE',
  '    └─ stream obs.b [CLIENT] ERROR acp.error.code=AGENT_UNAVAILABLE acp.stream.frames=6 event:acp.first_delta',
  '      └─ handle obs.b [SERVER] ERROR acp.error.code=AGENT_UNAVAILABLE',
  '        └─ invoke obs.c [CLIENT] ERROR acp.error.code=AGENT_UNAVAILABLE',
  '          └─ handle obs.c [SERVER] ERROR acp.error.code=AGENT_UNAVAILABLE',
];
