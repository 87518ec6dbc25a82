import type { BranchOutcome, ParallelEvent } from '@openagentio/nestjs';
import type { WorkerAnswer } from './analysis-branches.js';

/**
 * One call of a turn as the demo page draws it (a bar in its timeline). The triage agent streams one as a data delta
 * `{"data":{"step":…}}` when a call starts and again when it ends, so the page shows the turn live.
 */
export interface TimelineStep {
  /** Unique within the turn; the end of a call repeats the id of its start. */
  id: string;
  /** The bus target called. */
  agent: string;
  kind: 'invoke' | 'stream';
  /** Side by side with its siblings (a fan-out branch) or after what came before. */
  mode: 'parallel' | 'sequence';
  status: 'running' | BranchOutcome['status'];
  /** When it started (epoch ms; the page places it relative to the turn's first frame). */
  started_at: number;
  duration_ms?: number;
  /** The trace id the agent saw (workers say it), to show the trace travelled with the call. */
  trace_id?: string;
  error?: string;
}

/** The step of a fan-out event (start or end of a branch); undefined for deltas. */
export function parallelStep(ev: ParallelEvent<WorkerAnswer>): TimelineStep | undefined {
  if (ev.type === 'start') {
    return { id: `parallel/${ev.branch}`, agent: ev.target, kind: ev.kind, mode: 'parallel', status: 'running', started_at: ev.at };
  }
  if (ev.type !== 'end') return undefined;
  const o = ev.outcome;
  const step: TimelineStep = {
    id: `parallel/${ev.branch}`,
    agent: o.target,
    kind: o.kind,
    mode: 'parallel',
    status: o.status,
    started_at: o.startedAt,
    duration_ms: o.durationMs,
  };
  if (o.value?.seen_trace) step.trace_id = o.value.seen_trace;
  if (o.error) step.error = `${o.error.code}: ${o.error.message}`;
  return step;
}
