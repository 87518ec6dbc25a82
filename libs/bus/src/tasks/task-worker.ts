import type { BusClient } from '../bus/bus-client.js';
import { callContextStorage, type CallContext } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { isUnexpectedError, toBusError } from '../errors/to-bus-error.js';
import { randomUUID } from 'node:crypto';
import { TaskContext, TaskPause } from './task-context.js';
import { TaskEngine } from './task-engine.js';
import type { TaskConsumer, TaskDelivery } from './task-store.interface.js';
import { isTerminalTaskState, TaskEventTypes, type TaskRecord } from './task.types.js';

/** Reads of a record found absent before its delivery is dropped (about 1.5 s in all). */
const ABSENT_READS = 3;

/** A task handler: the task's input and its context; the return value is the result. */
export type TaskHandler = (input: unknown, ctx: TaskContext) => unknown;

export interface TaskHandlerOptions {
  /** Tasks this process runs at once for the target. Default 1. */
  concurrency?: number;
  /** Milliseconds a run may take; then its signal aborts and the task fails with AGENT_TIMEOUT. Default 10 min. */
  timeout?: number;
  /** Runs before the task fails for good (a lost worker, a retryable error). Default 3. */
  maxAttempts?: number;
}

/**
 * Runs the tasks of one target in this process: takes them from the store's queue, marks them working, runs the
 * handler inside the task's call context (session, trace) and stores the outcome before acknowledging, so a worker
 * lost mid-task leaves it to the next worker as another attempt.
 */
export class TaskWorker {
  private consumer?: TaskConsumer;
  private readonly running = new Map<string, { ac: AbortController; keepAlive: NodeJS.Timeout }>();
  private offCancel?: () => void;
  readonly options: Required<TaskHandlerOptions>;

  constructor(
    private readonly engine: TaskEngine,
    private readonly bus: BusClient,
    readonly target: string,
    private readonly handler: TaskHandler,
    options: TaskHandlerOptions = {},
  ) {
    this.options = { concurrency: options.concurrency ?? 1, timeout: options.timeout ?? 600_000, maxAttempts: options.maxAttempts ?? 3 };
  }

  async start(): Promise<void> {
    this.offCancel = this.engine.store.onCancel((id) =>
      this.running.get(id)?.ac.abort(new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'task cancelled')),
    );
    this.consumer = await this.engine.store.consume(this.target, this.options.concurrency, (d) => this.run(d));
  }

  /** Stops taking tasks; runs in progress are aborted and left unacknowledged, to be run again elsewhere. */
  async stop(): Promise<void> {
    this.offCancel?.();
    // No more signs of life for the runs in progress (so they are handed to another worker), then abort them.
    for (const { ac, keepAlive } of this.running.values()) {
      clearInterval(keepAlive);
      ac.abort(new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'worker stopping'));
    }
    await this.consumer?.stop();
  }

  private async run(d: TaskDelivery): Promise<void> {
    const { engine } = this;
    const v = await this.read(d.taskId);
    if (!v || isTerminalTaskState(v.record.state) || v.record.state === 'input-required' || v.record.state === 'auth-required') {
      await d.ack();
      return;
    }
    if (v.record.cancel_requested) {
      await engine.change(d.taskId, TaskEngine.ending('canceled'));
      await d.ack();
      return;
    }
    const attempt = v.record.attempts + 1;
    if (attempt > this.options.maxAttempts) {
      await engine.change(
        d.taskId,
        TaskEngine.ending('failed', {
          error: { code: ErrorCodes.AGENT_UNAVAILABLE, message: `gave up after ${this.options.maxAttempts} attempts`, retryable: false },
        }),
      );
      await d.ack();
      return;
    }
    const started = await engine.change(d.taskId, (r) => {
      if (isTerminalTaskState(r.state) || r.cancel_requested || r.state === 'input-required' || r.state === 'auth-required')
        return undefined;
      r.state = 'working';
      r.attempts = attempt;
      return { record: r, frame: { eventType: TaskEventTypes.STATUS, payload: { task_id: r.id, state: 'working', attempt } } };
    });
    if (!started.changed) {
      if (started.record.cancel_requested && !isTerminalTaskState(started.record.state))
        await engine.change(d.taskId, TaskEngine.ending('canceled'));
      await d.ack();
      return;
    }
    await this.execute(started.record, attempt, d);
  }

  /**
   * The task of a delivery. A record is written before its queue entry, so "absent" can be a replica that lags
   * (or a read that raced an election): read again a few times before the delivery is dropped as a task that
   * does not exist.
   */
  private async read(id: string) {
    for (let i = 0; ; i++) {
      const v = await this.engine.store.get(id);
      if (v || i >= ABSENT_READS) return v;
      await new Promise((r) => setTimeout(r, 250 * (i + 1)));
    }
  }

  private async execute(task: TaskRecord, attempt: number, d: TaskDelivery): Promise<void> {
    const { engine } = this;
    const ac = new AbortController();
    const timeout = setTimeout(
      () => ac.abort(new BusError(ErrorCodes.AGENT_TIMEOUT, `task timed out after ${this.options.timeout} ms`)),
      this.options.timeout,
    );
    timeout.unref();
    // Signs of life well within the store's ack wait; a lost process sends none, so its run goes to another worker.
    const keepAlive = setInterval(() => d.working(), d.keepAliveMs || 3_600_000);
    keepAlive.unref();
    this.running.set(task.id, { ac, keepAlive });
    const ctx = new TaskContext(engine, task, attempt, ac.signal);
    let lost = false;
    try {
      const outcome = await callContextStorage.run(this.callContext(task, ac.signal), () => this.handler(task.input, ctx));
      if (ac.signal.aborted) throw ac.signal.reason;
      if (outcome instanceof TaskPause) {
        await engine.change(task.id, (r) => {
          if (r.state !== 'working') return undefined;
          r.state = outcome.state;
          r.status_message = outcome.message;
          r.history.push({ role: 'agent', content: outcome.message, at: new Date().toISOString() });
          return {
            record: r,
            frame: { eventType: TaskEventTypes.STATUS, payload: { task_id: r.id, state: outcome.state, message: outcome.message } },
          };
        });
      } else {
        await engine.change(task.id, TaskEngine.ending('completed', { result: outcome === undefined ? null : outcome }));
      }
    } catch (err) {
      lost = await this.failed(task, attempt, ac, err);
    } finally {
      clearTimeout(timeout);
      clearInterval(keepAlive);
      this.running.delete(task.id);
    }
    // Acknowledged only once the outcome is stored; a stopping worker leaves the delivery to another one.
    if (!lost) await d.ack();
  }

  /** Stores how a run failed; true when the worker is stopping and the run should be left to another worker. */
  private async failed(task: TaskRecord, attempt: number, ac: AbortController, err: unknown): Promise<boolean> {
    const { engine } = this;
    const reason = ac.signal.aborted ? ac.signal.reason : err;
    const current = (await engine.store.get(task.id))?.record;
    if (current?.cancel_requested) {
      await engine.change(task.id, TaskEngine.ending('canceled'));
      return false;
    }
    if (reason instanceof BusError && reason.message === 'worker stopping') return true;
    let error = toBusError(reason);
    if (isUnexpectedError(reason)) {
      const errorId = randomUUID();
      this.bus.logger.error(
        `task ${task.id} (${this.target}) failed (error id ${errorId}): ${(reason as Error)?.message}`,
        (reason as Error)?.stack,
      );
      error = new BusError(
        ErrorCodes.AGENT_UNAVAILABLE,
        this.bus.options.exposeErrors ? error.message : `internal error (error id ${errorId})`,
        {
          retryable: false,
        },
      );
    }
    if (error.retryable && attempt < this.options.maxAttempts && error.code !== ErrorCodes.AGENT_TIMEOUT) {
      // Worth another run: back in the queue, as the next attempt.
      const again = await engine.change(task.id, (r) => {
        if (r.state !== 'working') return undefined;
        r.state = 'submitted';
        return {
          record: r,
          frame: { eventType: TaskEventTypes.STATUS, payload: { task_id: r.id, state: 'submitted', message: error.message } },
        };
      });
      if (again.changed) await engine.store.enqueue(this.target, task.id, String(again.record.seq));
      return false;
    }
    await engine.change(task.id, TaskEngine.ending('failed', { error: error.toPayload() }));
    return false;
  }

  private callContext(task: TaskRecord, signal: AbortSignal): CallContext {
    const envelope = engineFrame(this.engine, task);
    return {
      envelope,
      target: this.target,
      kind: 'task',
      signal,
      session: {
        session_id: task.session_id,
        conversation_id: task.context_id,
        tenant_id: task.tenant_id,
        user_id: task.user_id,
        channel: task.channel,
      },
      trace: { traceparent: task.traceparent, trace_id: envelope.trace_id, span_id: envelope.span_id },
    };
  }
}

function engineFrame(engine: TaskEngine, task: TaskRecord) {
  return engine.frame(task, TaskEventTypes.STATUS, { task_id: task.id, state: task.state });
}
