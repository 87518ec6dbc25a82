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
import { TASK_CALLBACK_QUEUE } from './task-callback.js';
import type { TaskConsumer, TaskDelivery } from './task-store.interface.js';
import {
  clip,
  isTaskId,
  isTerminalTaskState,
  TaskEventTypes,
  type TaskCallback,
  type TaskListQuery,
  type TaskPage,
  type TaskRecord,
  type TaskWebhook,
} from './task.types.js';

/** Webhooks one task may have. */
export const MAX_TASK_WEBHOOKS = 10;

/** A webhook as given to `setWebhook`: the id is made up when absent; delivery marks are the store's. */
export type TaskWebhookInput = Omit<TaskWebhook, 'id' | 'delivered_at' | 'failed'> & { id?: string };

/** Who a task is for; each field defaults to the ambient call's (a task submitted from a handler keeps its session). */
export interface SubmitOptions {
  /** A2A `contextId`; default: the session's conversation_id. */
  context_id?: string;
  session_id?: string;
  tenant_id?: string;
  user_id?: string;
  channel?: string;
  traceparent?: string;
  /**
   * Announce the task's end: `true` (or `{}`) publishes an `agent.task.completed` event when it completes, fails,
   * is cancelled or rejected; `webhooks` are also POSTed to, by a gateway (docs/tasks.md, "Callbacks").
   */
  callback?: true | { webhooks?: TaskWebhookInput[] };
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
    if (options.callback) record.callback = callbackOf(options.callback);
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

  /**
   * Adds a webhook to the task, or replaces the one with the same id (it will be told again). A task that has
   * already ended has its delivery queued at once. Returns the webhook as stored.
   */
  async setWebhook(id: string, webhook: TaskWebhookInput): Promise<TaskWebhook> {
    const stored = checkWebhook(webhook);
    const { record } = await this.engine.change(id, (r) => {
      const list = (r.callback ??= {}).webhooks ?? [];
      const rest = list.filter((w) => w.id !== stored.id);
      if (rest.length >= MAX_TASK_WEBHOOKS) {
        throw new BusError(ErrorCodes.INVALID_REQUEST, `task ${clip(id)} has ${rest.length} webhooks, the most it may have`);
      }
      r.callback.webhooks = [...rest, stored];
      return { record: r };
    });
    if (isTerminalTaskState(record.state)) await this.engine.store.enqueue(TASK_CALLBACK_QUEUE, id, `w${newEventId()}`);
    return stored;
  }

  /** The task's webhooks (with their delivery marks). */
  async webhooks(id: string): Promise<TaskWebhook[]> {
    return (await this.engine.load(id)).record.callback?.webhooks ?? [];
  }

  /** Removes a webhook; false when the task has none of that id. */
  async removeWebhook(id: string, webhookId: string): Promise<boolean> {
    const { changed } = await this.engine.change(id, (r) => {
      const list = r.callback?.webhooks ?? [];
      if (!list.some((w) => w.id === webhookId)) return undefined;
      r.callback!.webhooks = list.filter((w) => w.id !== webhookId);
      return { record: r };
    });
    return changed;
  }

  /** Marks a webhook delivered (a 2xx answer) or given up, so a later delivery of the task skips it. */
  async settleWebhook(id: string, webhookId: string, outcome: { delivered_at: string } | { failed: string }): Promise<void> {
    await this.engine.change(id, (r) => {
      const w = r.callback?.webhooks?.find((x) => x.id === webhookId);
      if (!w) return undefined;
      Object.assign(w, outcome);
      return { record: r };
    });
  }

  /**
   * Takes the queued webhook deliveries (one per ended task with webhooks to tell), at most `concurrency` at once.
   * On JetStream every process calling this shares one durable consumer: each delivery goes to one of them, and
   * one not acknowledged (its process died) goes to another after the store's ack wait. The gateway calls it.
   */
  consumeCallbacks(concurrency: number, run: (d: TaskDelivery) => Promise<void>): Promise<TaskConsumer> {
    return this.engine.store.consume(TASK_CALLBACK_QUEUE, concurrency, run);
  }
}

function callbackOf(option: NonNullable<SubmitOptions['callback']>): TaskCallback {
  if (option === true || !option.webhooks?.length) return {};
  if (option.webhooks.length > MAX_TASK_WEBHOOKS) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, `a task may have ${MAX_TASK_WEBHOOKS} webhooks, not ${option.webhooks.length}`);
  }
  const webhooks = option.webhooks.map(checkWebhook);
  if (new Set(webhooks.map((w) => w.id)).size !== webhooks.length)
    throw new BusError(ErrorCodes.INVALID_REQUEST, 'webhook ids must differ');
  return { webhooks };
}

function checkWebhook(w: TaskWebhookInput): TaskWebhook {
  if (typeof w?.url !== 'string' || !/^https?:\/\//i.test(w.url)) {
    throw new BusError(ErrorCodes.INVALID_REQUEST, 'a webhook url must be an http or https URL');
  }
  const id = w.id ?? newEventId();
  if (!isTaskId(id)) throw new BusError(ErrorCodes.INVALID_REQUEST, 'a webhook id is 1 to 128 letters, digits, "_" or "-"');
  const out: TaskWebhook = { id, url: w.url };
  if (w.token !== undefined) out.token = String(w.token);
  if (w.authentication) out.authentication = { scheme: String(w.authentication.scheme), credentials: String(w.authentication.credentials) };
  if (w.format) out.format = w.format;
  return out;
}

export { summary } from './task-frame.js';
