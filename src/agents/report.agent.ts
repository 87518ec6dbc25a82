import { Injectable } from '@nestjs/common';
import { abortableSleep } from '@openagentio/nestjs';
import { BusClient, Task, type TaskContext } from '@openagentio/nestjs';

/** What `report.build` takes: a topic, and how long each section takes (ms; default 600, 0 to 2000). */
export interface ReportRequest {
  topic?: string;
  step_ms?: number;
}

/** The sections of the report, in order: a title and canned text (no model runs here either). */
export const REPORT_SECTIONS: ReadonlyArray<readonly [string, string]> = [
  ['Traffic', 'Invokes, streams and events all went over one bus; every call carried its session and trace.'],
  ['Latency', 'The three workers answered side by side, so a turn took as long as its slowest worker.'],
  ['Handoffs', 'Billing questions went from triage to billing, and the session stayed there until "thanks".'],
  ['Failures', 'A stopped answer aborted its agents at once; nothing kept running for nobody.'],
  ['Tasks', 'This report is a task: stored before a worker ran it, followed over SSE, resumable from any seq.'],
];

/** The report's artifact id: every attempt writes the same artifact, the first chunk of a run replacing it. */
export const REPORT_ARTIFACT = 'report';

/**
 * The report agent: `report.build` is an async task (docs/tasks.md), a slow report built section by section. It
 * reports its progress (`ctx.status`), appends the report to one artifact chunk by chunk (`ctx.artifact` with
 * `append`), stops at once when the task is cancelled (`ctx.signal`), and says which attempt and process wrote it:
 * a worker lost mid-task (on JetStream) leaves the task to the next worker, which builds it again as attempt 2.
 */
@Injectable()
export class ReportAgent {
  constructor(private readonly bus: BusClient) {}

  @Task('report.build', { concurrency: 2, timeout: 60_000, maxAttempts: 3 })
  async build(input: ReportRequest | null, ctx: TaskContext) {
    const topic = typeof input?.topic === 'string' && input.topic.trim() ? input.topic.trim().slice(0, 80) : 'the demo bus';
    const step = Math.min(Math.max(Number(input?.step_ms ?? 600) || 0, 0), 2000);
    const by = `${this.bus.agentId} (pid ${process.pid}), attempt ${ctx.attempt}`;
    await ctx.status(`starting the report on ${topic} (${by})`);
    // Not `append`: a later attempt starts the artifact again instead of adding to the lost run's half.
    await ctx.artifact({ artifact_id: REPORT_ARTIFACT, name: 'report.md', data: reportTitle(topic, by) });
    for (const [i, [title, text]] of REPORT_SECTIONS.entries()) {
      await ctx.status(`writing section ${i + 1} of ${REPORT_SECTIONS.length}: ${title}`);
      await abortableSleep(step, ctx.signal);
      await ctx.artifact({
        artifact_id: REPORT_ARTIFACT,
        data: reportSection(title, text),
        append: true,
        last_chunk: i === REPORT_SECTIONS.length - 1,
      });
    }
    await ctx.status('report done');
    return { topic, sections: REPORT_SECTIONS.length, attempt: ctx.attempt, worker: this.bus.agentId, pid: process.pid };
  }
}

/** The report's first chunk. */
export function reportTitle(topic: string, by: string): string {
  return `# Report on ${topic}\n\nBuilt by ${by}.\n`;
}

/** One section of the report. */
export function reportSection(title: string, text: string): string {
  return `\n## ${title}\n\n${text}\n`;
}
