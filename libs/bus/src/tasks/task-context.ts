import type { TaskEngine } from './task-engine.js';
import { TaskEventTypes, type TaskArtifact, type TaskMessage, type TaskRecord } from './task.types.js';

/** What a task handler returns to wait for more input without holding a process (`ctx.inputRequired(…)`). */
export class TaskPause {
  constructor(
    readonly state: 'input-required' | 'auth-required',
    readonly message: string,
  ) {}
}

/**
 * What a task handler gets besides its input: the task, the run's attempt, an AbortSignal (cancel, timeout), the
 * history, and ways to report status, emit artifacts and ask for input.
 *
 * @example
 * @Task('report.build', { timeout: 60_000, maxAttempts: 3 })
 * async build(input: { quarter?: string }, ctx: TaskContext) {
 *   const quarter = input.quarter ?? (ctx.lastInput as string | undefined);
 *   if (!quarter) return ctx.inputRequired('Which quarter?');
 *   await ctx.status(`collecting ${quarter}`);
 *   await ctx.artifact({ name: 'report.md', data: `# ${quarter}\n`, last_chunk: true });
 *   return { quarter, pages: 3 };
 * }
 */
export class TaskContext {
  private artifactCounter = 0;

  constructor(
    private readonly engine: TaskEngine,
    /** The task as this run started. */
    readonly task: TaskRecord,
    /** 1 on the first run; more after a worker was lost or a retryable failure. */
    readonly attempt: number,
    /** Aborts on cancel (wherever the task is cancelled from) and at the task's timeout. */
    readonly signal: AbortSignal,
  ) {}

  get history(): readonly TaskMessage[] {
    return this.task.history;
  }

  /** The content of the latest user message (what `send` added), if any. */
  get lastInput(): unknown {
    for (let i = this.task.history.length - 1; i >= 0; i--) if (this.task.history[i].role === 'user') return this.task.history[i].content;
    return undefined;
  }

  /** A status update (state stays `working`): followers see it, `get` shows it as `status_message`. */
  async status(message: string): Promise<void> {
    await this.engine.change(this.task.id, (r) => {
      // A run that lost its task (timed out, taken over by a later attempt) changes nothing.
      if (r.state !== 'working' || r.attempts !== this.attempt) return undefined;
      r.status_message = message;
      return { record: r, frame: { eventType: TaskEventTypes.STATUS, payload: { task_id: r.id, state: 'working', message } } };
    });
  }

  /** An artifact, or a chunk of one (same `artifact_id`, `append: true`); returns its id. */
  async artifact(a: Omit<TaskArtifact, 'artifact_id'> & { artifact_id?: string }): Promise<string> {
    const artifact: TaskArtifact = { ...a, artifact_id: a.artifact_id ?? `${this.task.id}-${this.attempt}-${this.artifactCounter++}` };
    await this.engine.change(this.task.id, (r) => {
      if (r.state !== 'working' || r.attempts !== this.attempt) return undefined;
      const existing = r.artifacts.find((x) => x.artifact_id === artifact.artifact_id);
      if (existing && artifact.append) {
        existing.data = appendData(existing.data, artifact.data);
        existing.last_chunk = artifact.last_chunk;
      } else if (existing) {
        Object.assign(existing, artifact);
      } else {
        r.artifacts.push(structuredClone(artifact));
      }
      return { record: r, frame: { eventType: TaskEventTypes.ARTIFACT, payload: { task_id: r.id, artifact } } };
    });
    return artifact.artifact_id;
  }

  /** Return this from the handler to wait for `send(taskId, …)`: the task is `input-required` and no process waits. */
  inputRequired(message: string): TaskPause {
    return new TaskPause('input-required', message);
  }

  /** As inputRequired, for credentials (`auth-required`). */
  authRequired(message: string): TaskPause {
    return new TaskPause('auth-required', message);
  }
}

function appendData(prev: unknown, next: unknown): unknown {
  if (typeof prev === 'string' && typeof next === 'string') return prev + next;
  if (Array.isArray(prev)) return prev.concat(next);
  return next;
}
