import { context as otelContext, SpanKind, SpanStatusCode, trace, type Context, type Span } from '@opentelemetry/api';
import type { CallContext } from '../context/call-context.js';
import { callerParent, tracingActive } from '../observability/bus-tracing.js';
import type { BranchOutcome } from './parallel-branch.js';
import type { ParallelMode } from './parallel-options.js';

/** Span name of one branch of a fan-out (docs/orchestration.md). */
export const branchSpanName = (name: string): string => `parallel ${name}`;

/**
 * The span of one fan-out branch: a child of the caller's span (the handler's, or the active one), and the parent
 * of the branch's own `invoke`/`stream` span, so a trace shows the fan-out as siblings side by side. Nothing is made
 * without a tracing SDK.
 */
export class BranchSpan {
  private constructor(
    private readonly span: Span,
    private readonly context: Context,
  ) {}

  static start(
    telemetry: boolean,
    ctx: CallContext | undefined,
    mode: ParallelMode,
    name: string,
    index: number,
    target: string,
  ): BranchSpan | undefined {
    if (!telemetry || !tracingActive()) return undefined;
    const parent = callerParent(ctx?.trace);
    const span = trace.getTracer('openagentio-bus').startSpan(
      branchSpanName(name),
      {
        kind: SpanKind.INTERNAL,
        attributes: { 'acp.parallel.mode': mode, 'acp.parallel.branch': name, 'acp.parallel.index': index, 'acp.target': target },
      },
      parent,
    );
    return new BranchSpan(span, trace.setSpan(parent, span));
  }

  /** Runs `fn` (which starts the branch's call) with this span active, so the call's span is its child. */
  run<R>(fn: () => R): R {
    return otelContext.with(this.context, fn);
  }

  end(outcome: BranchOutcome): void {
    this.span.setAttribute('acp.parallel.outcome', outcome.status);
    if (outcome.error) {
      this.span.setAttribute('acp.error.code', outcome.error.code);
      if (outcome.status !== 'cancelled') this.span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
    }
    this.span.end();
  }
}
