import type { Attributes, Context, Span } from '@opentelemetry/api';
import type { BusClient } from '../bus/bus-client.js';
import { endSpan, handlerParent, startTaskSpan, tracingActive, withSpan } from '../observability/bus-tracing.js';
import type { Envelope } from '../protocol/envelope.js';
import { callContextStorage, type CallContext } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { isUnexpectedError, toBusError } from '../errors/to-bus-error.js';
import { randomUUID } from 'node:crypto';
import { TaskContext, TaskPause } from './task-context.js';
import { TaskEngine, type TaskChange } from './task-engine.js';
import type { TaskConsumer, TaskDelivery, VersionedTask } from './task-store.interface.js';
import { clip, isTaskId, isTerminalTaskState, TaskEventTypes, type TaskRecord } from './task.types.js';

/** A well-formed task id with no record is delivered once more after this long before it counts as poison (ms). */
const ABSENT_RECHECK_MS = 1_000;

/** A task handler: the task's input and its context; the return value is the result. */
export type TaskHandler = (input: unknown, ctx: TaskContext) => unknown;

export interface TaskHandlerOptions {
  /** Tasks this process runs at once for the target. Default 1. */
  concurrency?: number;
  /**
   * Milliseconds a run may take. At the timeout the signal aborts and the task ends `failed` AGENT_TIMEOUT at once,
   * whether or not the handler stops: its slot is free again and whatever it returns later is dropped. Default 10 min.
   */
  timeout?: number;
  /** Runs before the task fails for good (a lost worker, a retryable error). Default 3. */
  maxAttempts?: number;
}

/** How long a run's lease outlives its timeout: the worker ends the run at the timeout, this covers clock skew. */
const LEASE_SLACK_MS = 5_000;

const STOPPING = 'worker stopping';

interface Run {
  ac: AbortController;
  keepAlive: NodeJS.Timeout;
  /** The record says cancel was requested: checked on a cancel notice, and with each sign of life. */
  checkCancel(): void;
}

/**
 * Runs the tasks of one target in this process: takes them from the store's queue, marks them working under a
 * lease (compare-and-set), runs the handler inside the task's call context (session, trace) and stores the outcome
 * before acknowledging, so a worker lost mid-task leaves it to the next worker as another attempt.
 */
export class TaskWorker {
  private consumer?: TaskConsumer;
  private readonly running = new Map<string, Run>();
  private offCancel?: () => void;
  private offDrain?: () => void;
  /** Drain and resume in the order they came (each may wait for a consumer to stop or start). */
  private drainChange: Promise<void> = Promise.resolve();
  private poisonUnlogged = 0;
  private poisonLoggedAt = 0;
  private poisonTimer?: NodeJS.Timeout;
  private poisonExample = '';
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
    // A cancel notice is a wake-up, not an authority (anyone on the account can publish one): the record decides.
    this.offCancel = this.engine.store.onCancel((id) => this.running.get(id)?.checkCancel());
    this.consumer = await this.engine.store.consume(this.target, this.options.concurrency, (d) => this.run(d));
    // A drained bus takes no new tasks; the runs in progress go on to their end (BusClient.drain).
    this.offDrain = this.bus.onDrainChange((drained) => {
      // A consumer that pauses does so at once: no delivery slips in between drain() and a later turn.
      if (this.consumer?.pause) return this.consumer.pause(drained);
      this.drainChange = this.drainChange.then(() => this.drained(drained)).catch(() => undefined);
    });
    if (this.bus.drained) await this.drained(true);
  }

  private async drained(drained: boolean): Promise<void> {
    const c = this.consumer;
    if (c?.pause) return c.pause(drained);
    if (drained) {
      this.consumer = undefined;
      await c?.stop();
    } else if (!c && this.offCancel) {
      this.consumer = await this.engine.store.consume(this.target, this.options.concurrency, (d) => this.run(d));
    }
  }

  /** Stops taking tasks; runs in progress are aborted and left unacknowledged, to be run again elsewhere. */
  async stop(): Promise<void> {
    this.offDrain?.();
    this.offCancel?.();
    this.offCancel = undefined;
    await this.drainChange;
    // No more signs of life for the runs in progress (so they are handed to another worker), then abort them.
    for (const { ac, keepAlive } of this.running.values()) {
      clearInterval(keepAlive);
      ac.abort(new BusError(ErrorCodes.AGENT_UNAVAILABLE, STOPPING));
    }
    await this.consumer?.stop();
    if (this.poisonTimer) clearTimeout(this.poisonTimer);
    this.flushPoisonLog();
  }

  private async run(d: TaskDelivery): Promise<void> {
    if (!isTaskId(d.taskId)) return this.poison(d);
    const { engine } = this;
    const now = Date.now();
    // Set by the last (winning) pass of the compare-and-set loop.
    let outcome = 'skip' as 'skip' | 'busy' | 'ended' | 'run';
    let attempt = 0;
    // A redelivered run whose holder stopped answering: its last change may have reached the record, not the log.
    if (d.deliveryCount > 1) await this.repairTakenOver(d, now);
    const started = await engine
      .change(d.taskId, (r): TaskChange | undefined => {
        outcome = 'skip';
        if (isTerminalTaskState(r.state) || r.state === 'input-required' || r.state === 'auth-required') return undefined;
        if (r.cancel_requested) {
          outcome = 'ended';
          return TaskEngine.ending('canceled')(r);
        }
        // Another delivery of a task that runs under a live lease: a replayed or forged message, never a second run.
        if (r.state === 'working' && r.lease && r.lease.delivery !== d.deliveryId && Date.parse(r.lease.until) > now) {
          outcome = 'busy';
          return undefined;
        }
        attempt = r.attempts + 1;
        if (attempt > this.options.maxAttempts) {
          outcome = 'ended';
          return TaskEngine.ending('failed', {
            error: { code: ErrorCodes.AGENT_UNAVAILABLE, message: `gave up after ${this.options.maxAttempts} attempts`, retryable: false },
          })(r);
        }
        outcome = 'run';
        r.state = 'working';
        r.attempts = attempt;
        r.lease = { delivery: d.deliveryId, until: new Date(now + this.options.timeout + LEASE_SLACK_MS).toISOString() };
        return { record: r, frame: { eventType: TaskEventTypes.STATUS, payload: { task_id: r.id, state: 'working', attempt } } };
      })
      // A well-formed id that names no record (never stored, or expired): poison as well.
      .catch((err: unknown) => {
        if (err instanceof BusError && err.code === ErrorCodes.NO_HANDLER) return undefined;
        throw err;
      });
    if (!started) {
      // Absent can be a server that lags (a frozen leader that resumed and does not know yet it was replaced; the
      // record is written before its queue entry): the message comes back once, later, before it is called poison.
      // Handed back, not waited for: the worker's slot goes to the next message meanwhile.
      if (d.deliveryCount === 1 && d.retryLater) return d.retryLater(ABSENT_RECHECK_MS);
      return this.poison(d);
    }
    if ((outcome as string) !== 'run' || !started.changed) {
      await d.ack();
      return;
    }
    // What this run's own compare-and-set wrote, for its last change to start from (taken before the handler can
    // touch the record's input); a change since then makes that compare-and-set fail and read the record again.
    await this.execute(started.record, attempt, d, { record: structuredClone(started.record), revision: started.revision });
  }

  /** Fills the log of a task this delivery takes over from a run whose lease is its own or has lapsed. */
  private async repairTakenOver(d: TaskDelivery, now: number): Promise<void> {
    const v = await this.engine.store.get(d.taskId).catch(() => undefined);
    const r = v?.record;
    if (!r || r.state !== 'working' || !r.lease) return;
    if (r.lease.delivery !== d.deliveryId && Date.parse(r.lease.until) > now) return;
    const filled = await this.engine.fillLostFrames(r);
    if (filled)
      this.bus.logger.warn(
        `task ${r.id} (${this.target}): ${filled} frame(s) its stopped worker did not write were marked lost in its log`,
      );
  }

  /** A queue message that names no task: terminated (never redelivered), counted, logged at most once a second. */
  private async poison(d: TaskDelivery): Promise<void> {
    this.bus.stats.poisonTaskMessages++;
    this.poisonUnlogged++;
    if (!this.poisonExample) this.poisonExample = JSON.stringify(clip(d.taskId, 32));
    await d.reject();
    const wait = this.poisonLoggedAt + 1_000 - Date.now();
    if (wait <= 0) this.flushPoisonLog();
    else if (!this.poisonTimer) {
      this.poisonTimer = setTimeout(() => {
        this.poisonTimer = undefined;
        this.flushPoisonLog();
      }, wait);
      this.poisonTimer.unref();
    }
  }

  private flushPoisonLog(): void {
    if (this.poisonUnlogged === 0) return;
    this.bus.logger.warn(
      `task queue of ${this.target}: dropped ${this.poisonUnlogged} message(s) that name no task (e.g. ${this.poisonExample}); ` +
        `${this.bus.stats.poisonTaskMessages} in all (stats.poisonTaskMessages)`,
    );
    this.poisonUnlogged = 0;
    this.poisonExample = '';
    this.poisonLoggedAt = Date.now();
  }

  private async execute(task: TaskRecord, attempt: number, d: TaskDelivery, held: VersionedTask): Promise<void> {
    const { engine } = this;
    const ac = new AbortController();
    // The run ends when its signal aborts (timeout, cancel, worker stopping), whether or not the handler listens.
    const abandoned = new Promise<never>((_, reject) =>
      ac.signal.addEventListener('abort', () => reject(ac.signal.reason), { once: true }),
    );
    const timeout = setTimeout(
      () => ac.abort(new BusError(ErrorCodes.AGENT_TIMEOUT, `task timed out after ${this.options.timeout} ms`, { retryable: false })),
      this.options.timeout,
    );
    timeout.unref();
    const checkCancel = () => {
      void engine.store
        .get(task.id)
        .then((v) => {
          if (v?.record.cancel_requested && v.record.attempts === attempt)
            ac.abort(new BusError(ErrorCodes.AGENT_UNAVAILABLE, 'task cancelled', { retryable: false }));
        })
        .catch(() => undefined);
    };
    // Signs of life well within the store's ack wait; a lost process sends none, so its run goes to another worker.
    // Each also reads the record, so a cancel whose notice was lost still stops the run.
    const keepAlive = setInterval(() => {
      d.working();
      checkCancel();
    }, d.keepAliveMs || 3_600_000);
    keepAlive.unref();
    this.running.set(task.id, { ac, keepAlive, checkCancel });
    const ctx = new TaskContext(engine, task, attempt, ac.signal);
    let lost = false;
    let handled: Promise<unknown>;
    // A span per run when a tracer is live (the console's conversations show task steps with it).
    const span = this.bus.options.telemetry && tracingActive() ? this.runSpan(task, attempt) : undefined;
    let spanError: BusError | undefined;
    try {
      const run = () => callContextStorage.run(this.callContext(task, ac.signal), () => this.handler(task.input, ctx));
      handled = Promise.resolve(span ? withSpan(span.parent, span.span, run) : run());
    } catch (err) {
      handled = Promise.reject(err);
    }
    let handlerSettled = false;
    handled.then(
      () => (handlerSettled = true),
      () => (handlerSettled = true),
    );
    try {
      const outcome = await Promise.race([handled, abandoned]);
      if (ac.signal.aborted) throw ac.signal.reason;
      if (outcome instanceof TaskPause) {
        await engine.change(
          task.id,
          (r) => {
            if (r.state !== 'working' || r.attempts !== attempt) return undefined;
            r.state = outcome.state;
            r.status_message = outcome.message;
            delete r.lease;
            r.history.push({ role: 'agent', content: outcome.message, at: new Date().toISOString() });
            return {
              record: r,
              frame: { eventType: TaskEventTypes.STATUS, payload: { task_id: r.id, state: outcome.state, message: outcome.message } },
            };
          },
          held,
        );
      } else {
        await engine.change(task.id, this.ending(attempt, 'completed', { result: outcome === undefined ? null : outcome }), held);
      }
    } catch (err) {
      spanError = toBusError(ac.signal.aborted ? ac.signal.reason : err);
      lost = await this.failed(task, attempt, ac, err);
    } finally {
      clearTimeout(timeout);
      clearInterval(keepAlive);
      this.running.delete(task.id);
      if (span) endSpan(span.span, spanError);
    }
    if (ac.signal.aborted) this.dropLate(task, ac.signal.reason, handled, () => handlerSettled);
    // Acknowledged only once the outcome is stored; a stopping worker leaves the delivery to another one.
    if (!lost) await d.ack();
  }

  private runSpan(task: TaskRecord, attempt: number): { span: Span; parent: Context } {
    const parent = handlerParent({ traceparent: task.traceparent } as Envelope);
    const attributes: Attributes = { 'acp.target': this.target, 'acp.task.id': task.id, 'acp.task.attempt': attempt };
    if (task.session_id) attributes['acp.session_id'] = task.session_id;
    return { span: startTaskSpan(this.target, parent, attributes), parent };
  }

  /** What an abandoned handler returns later is dropped, and said once in the log. */
  private dropLate(task: TaskRecord, reason: unknown, handled: Promise<unknown>, settled: () => boolean): void {
    // Settled by now: the handler stopped with its signal, nothing is late.
    if (settled()) return;
    const late = () => {
      this.bus.stats.lateTaskResults++;
      this.bus.logger.warn(
        `task ${task.id} (${this.target}): the handler returned after its run ended (${(reason as Error)?.message}); its outcome was dropped`,
      );
    };
    handled.then(late, late);
  }

  /** Ends the run's task, unless another run (a later attempt) holds it by now. */
  private ending(attempt: number, ...args: Parameters<typeof TaskEngine.ending>) {
    const end = TaskEngine.ending(...args);
    return (r: TaskRecord) => (r.attempts === attempt ? end(r) : undefined);
  }

  /** Stores how a run failed; true when the worker is stopping and the run should be left to another worker. */
  private async failed(task: TaskRecord, attempt: number, ac: AbortController, err: unknown): Promise<boolean> {
    const { engine } = this;
    const reason = ac.signal.aborted ? ac.signal.reason : err;
    if (reason instanceof BusError && reason.message === STOPPING) return true;
    const current = (await engine.store.get(task.id))?.record;
    if (current?.cancel_requested) {
      await engine.change(task.id, TaskEngine.ending('canceled'));
      return false;
    }
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
        if (r.state !== 'working' || r.attempts !== attempt) return undefined;
        r.state = 'submitted';
        delete r.lease;
        return {
          record: r,
          frame: { eventType: TaskEventTypes.STATUS, payload: { task_id: r.id, state: 'submitted', message: error.message } },
        };
      });
      if (again.changed) await engine.store.enqueue(this.target, task.id, String(again.record.seq));
      return false;
    }
    await engine.change(task.id, this.ending(attempt, 'failed', { error: error.toPayload() }));
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
