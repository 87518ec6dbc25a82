import { currentCallContext } from '../context/call-context.js';
import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Envelope } from '../protocol/envelope.js';
import { newEventId } from '../protocol/ids.js';
import { assertName } from '../protocol/subjects.js';
import type { TaskEngine } from './task-engine.js';
import { followTask } from './task-follower.js';
import { TaskEngine as Engine } from './task-engine.js';
import { createdFrame } from './task-frame.js';
import { isTerminalTaskState, TaskEventTypes, type TaskListQuery, type TaskPage, type TaskRecord } from './task.types.js';

/** Who a task is for; each field defaults to the ambient call's (a task submitted from a handler keeps its session). */
export interface SubmitOptions {
  /** A2A `contextId`; default: the session's conversation_id. */
  context_id?: string;
  session_id?: string;
  tenant_id?: string;
  user_id?: string;
  channel?: string;
  traceparent?: string;
}

/**
 * Submits and follows tasks: durable agent work that outlives the call that started it (docs/tasks.md).
 *
 * @example
 * const task = await tasks.submit('report.build', { quarter: 'Q3' });
 * for await (const frame of tasks.follow(task.id)) console.log(frame.event_type, frame.payload);
 * const done = await tasks.wait(task.id);
 */
export class TaskClient {
  constructor(private readonly engine: TaskEngine) {}

  /** Stores the task and queues it for the target's workers; resolves (state `submitted`) once it is durable. */
  async submit(target: string, input: unknown, options: SubmitOptions = {}): Promise<TaskRecord> {
    assertName(target, 'task target');
    const ctx = currentCallContext();
    const now = new Date().toISOString();
    const record: TaskRecord = {
      id: newEventId(),
      target,
      state: 'submitted',
      input: input === undefined ? null : input,
      history: [],
      artifacts: [],
      attempts: 0,
      seq: 0,
      created_at: now,
      updated_at: now,
    };
    const fields = {
      context_id: options.context_id ?? ctx?.session.conversation_id,
      session_id: options.session_id ?? ctx?.session.session_id,
      tenant_id: options.tenant_id ?? ctx?.session.tenant_id,
      user_id: options.user_id ?? ctx?.session.user_id,
      channel: options.channel ?? ctx?.session.channel,
      traceparent: options.traceparent ?? ctx?.trace.traceparent,
    };
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) (record as unknown as Record<string, unknown>)[k] = v;
    await this.engine.store.submit(record, createdFrame(this.engine.agentId, record));
    return record;
  }

  async get(id: string): Promise<TaskRecord | undefined> {
    return (await this.engine.store.get(id))?.record;
  }

  /** Tasks newest first, filtered by context, state, target or tenant; `next_cursor` pages on. */
  list(query: TaskListQuery = {}): Promise<TaskPage> {
    return this.engine.store.list(query);
  }

  /**
   * Cancels a task. Queued (or waiting for input): it ends `canceled` and never runs. Running: the handler's
   * signal aborts wherever its worker is, and the worker ends it `canceled`. Already ended: INVALID_REQUEST.
   */
  async cancel(id: string): Promise<TaskRecord> {
    let running = false;
    const { record } = await this.engine.change(id, (r) => {
      if (isTerminalTaskState(r.state)) {
        throw new BusError(ErrorCodes.INVALID_REQUEST, `task ${id} is already ${r.state}: it cannot be cancelled`);
      }
      if (r.state === 'working') {
        running = true;
        if (r.cancel_requested) return undefined;
        r.cancel_requested = true;
        return { record: r };
      }
      return Engine.ending('canceled')(r);
    });
    if (running) await this.engine.store.publishCancel(id);
    return record;
  }

  /** More input for a task that asked for it (`input-required`/`auth-required`): it is queued to run again. */
  async send(id: string, content: unknown): Promise<TaskRecord> {
    const { record } = await this.engine.change(id, (r) => {
      if (r.state !== 'input-required' && r.state !== 'auth-required') {
        throw new BusError(ErrorCodes.INVALID_REQUEST, `task ${id} is ${r.state}, not waiting for input`);
      }
      const message = { role: 'user' as const, content, at: new Date().toISOString() };
      r.history.push(message);
      r.state = 'submitted';
      delete r.status_message;
      return { record: r, frame: { eventType: TaskEventTypes.MESSAGE, payload: { task_id: id, state: 'submitted', message } } };
    });
    await this.engine.store.enqueue(record.target, id, String(record.seq));
    return record;
  }

  /**
   * The task's frames after `afterSeq` (default: all of them), then live ones, to the terminal frame; through a
   * failover it resumes by itself, and a store that stays down ends it with a retryable TRANSPORT_FAILURE (resume
   * with `afterSeq` = the last seq seen).
   */
  follow(id: string, options: { afterSeq?: number; signal?: AbortSignal } = {}): AsyncIterable<Envelope> {
    return followTask(this.engine, id, options.afterSeq ?? -1, options.signal);
  }

  /**
   * Waits for the task to end (or `timeout` ms, then AGENT_TIMEOUT) and returns its final record; with
   * `orPause`, also returns when it waits for input.
   */
  async wait(id: string, options: { timeout?: number; signal?: AbortSignal; orPause?: boolean } = {}): Promise<TaskRecord> {
    const paused = (r: TaskRecord) => options.orPause === true && (r.state === 'input-required' || r.state === 'auth-required');
    const current = await this.engine.load(id);
    if (isTerminalTaskState(current.record.state) || paused(current.record)) return current.record;
    const signals = [options.signal, options.timeout ? AbortSignal.timeout(options.timeout) : undefined].filter(
      (s): s is AbortSignal => !!s,
    );
    const signal = signals.length ? AbortSignal.any(signals) : undefined;
    for await (const frame of this.follow(id, { afterSeq: current.record.seq, signal })) {
      if (frame.is_final) break;
      const state = (frame.payload as { state?: string } | undefined)?.state;
      if (options.orPause && (state === 'input-required' || state === 'auth-required')) break;
    }
    const after = await this.engine.load(id);
    if (!isTerminalTaskState(after.record.state) && !paused(after.record)) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new BusError(ErrorCodes.AGENT_TIMEOUT, `task ${id} did not end within ${options.timeout} ms (it is ${after.record.state})`);
    }
    return after.record;
  }
}

export { summary } from './task-frame.js';
