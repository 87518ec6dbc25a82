import { Inject, Injectable, Optional, type OnApplicationBootstrap } from '@nestjs/common';
import { ModuleRef } from '@nestjs/core';
import type { ServerResponse } from 'node:http';
import {
  type Envelope,
  ErrorCodes,
  isTerminalTaskState,
  type SubmitOptions,
  TaskClient,
  type TaskRecord,
  type TaskState,
  TERMINAL_TASK_STATES,
} from '@openagentio/nestjs';
import { clip, isTaskId } from '@openagentio/nestjs/internal/tasks/task.types.js';
import type { GatewayRequest } from './gateway-auth.js';
import { GatewayHttpError } from './gateway-errors.js';
import { assertWebhookAllowed } from './push-notifications.js';
import { GatewayService } from './gateway.service.js';
import type { SseChannel } from './sse.js';

const TASK_STATES = new Set<TaskState>(['submitted', 'working', 'input-required', 'auth-required', ...TERMINAL_TASK_STATES]);

/**
 * The gateway's task endpoints (docs/tasks.md, "Gateway and A2A"): submit to an exposed `taskTargets` target, read, list,
 * cancel, send input, and follow a task's frames as resumable SSE. Every task is its submitter's tenant's: another
 * tenant gets 404 as if it did not exist. Needs a `TaskClient` (TasksModule.forRoot in the application); without
 * one every task route answers 404 NO_HANDLER saying so.
 */
@Injectable()
export class TaskGatewayService implements OnApplicationBootstrap {
  private client?: TaskClient;
  private bootstrapped = false;
  /** Followers open per identity (ownerKey). */
  private readonly followers = new Map<string, number>();

  constructor(
    readonly gateway: GatewayService,
    @Inject(ModuleRef) private readonly moduleRef: ModuleRef,
    @Optional() @Inject(TaskClient) injected?: TaskClient,
  ) {
    this.client = injected;
  }

  /** TasksModule may live anywhere in the application: its TaskClient is looked up across modules. */
  onApplicationBootstrap(): void {
    this.client ??= this.lookup();
    this.bootstrapped = true;
  }

  /** Whether a TaskClient is there (TasksModule imported). */
  get available(): boolean {
    if (!this.client && !this.bootstrapped) this.client = this.lookup();
    return this.client !== undefined;
  }

  /** The application's TaskClient, or 404 NO_HANDLER when there is none. */
  get tasks(): TaskClient {
    return this.ensureTasks();
  }

  /** Throws 404 NO_HANDLER unless a TaskClient is there. */
  ensureTasks(): TaskClient {
    if (!this.available) {
      throw new GatewayHttpError(
        ErrorCodes.NO_HANDLER,
        'async tasks are not enabled on this gateway: import TasksModule.forRoot({ store }) in the application',
      );
    }
    return this.client!;
  }

  private lookup(): TaskClient | undefined {
    try {
      return this.moduleRef.get(TaskClient, { strict: false });
    } catch {
      return undefined;
    }
  }

  /** The caller's tenant: the identity's when authenticated, else the X-Tenant-Id header (anonymous gateways). */
  tenantOf(req: GatewayRequest): string | undefined {
    return this.gateway.callOptions(req).tenant_id;
  }

  /** The task, if it exists and belongs to the caller's tenant; 404 otherwise (the same answer either way). */
  async find(req: GatewayRequest, id: string): Promise<TaskRecord> {
    const tasks = this.tasks;
    const r = isTaskId(id) ? await tasks.get(id) : undefined;
    if (!r || r.tenant_id !== this.tenantOf(req)) throw new GatewayHttpError(ErrorCodes.NO_HANDLER, `no task "${clip(id)}"`);
    return r;
  }

  /** Submits a task for the caller: its tenant and user, X-Session-Id, X-Channel, trace; context as given or X-Conversation-Id. */
  submitFor(
    req: GatewayRequest,
    target: string,
    input: unknown,
    contextId?: string,
    callback?: SubmitOptions['callback'],
  ): Promise<TaskRecord> {
    const o = this.gateway.callOptions(req);
    return this.tasks.submit(target, input === undefined ? null : input, {
      callback,
      context_id: contextId ?? o.conversation_id,
      session_id: o.session_id,
      tenant_id: o.tenant_id,
      user_id: o.user_id,
      channel: o.channel,
      traceparent: o.traceparent,
    });
  }

  /**
   * A follower slot for the caller (each holds a store consumer while it lasts): 429 BACKPRESSURE_DROP past
   * `maxTaskFollowers`. Returns its release (idempotent).
   */
  acquireFollower(req: GatewayRequest): () => void {
    const owner = this.gateway.ownerKey(req);
    const n = this.followers.get(owner) ?? 0;
    const limit = this.gateway.options.maxTaskFollowers;
    if (n >= limit) {
      throw new GatewayHttpError(
        ErrorCodes.BACKPRESSURE_DROP,
        `too many task followers open for this identity (limit ${limit}): close one (an events stream, an A2A stream or blocking send)`,
        429,
      );
    }
    this.followers.set(owner, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (this.followers.get(owner) ?? 1) - 1;
      if (left > 0) this.followers.set(owner, left);
      else this.followers.delete(owner);
    };
  }

  // ------------------------------------------------------------------ endpoints

  /** POST /v1/agents/{target}/tasks → 202 with the task record (`Location: /v1/tasks/{id}`). */
  async submit(req: GatewayRequest, res: ServerResponse, target: string): Promise<void> {
    this.ensureTasks();
    this.gateway.assertExposed(this.gateway.options.taskTargets, target, 'task target');
    const callback = callbackFromHeaders(req, this.gateway.options.pushNotifications.allowUrls);
    const input = await this.gateway.readBody(req);
    const record = await this.submitFor(req, target, input, undefined, callback);
    json(res, 202, record, { location: `/v1/tasks/${record.id}` });
  }

  /** GET /v1/tasks/{id} → 200 with the record. */
  async get(req: GatewayRequest, res: ServerResponse, id: string): Promise<void> {
    json(res, 200, await this.find(req, id));
  }

  /** GET /v1/tasks?context=&state=&target=&cursor=&limit= → `{tasks, next_cursor?}`, the caller's tenant's only, newest first. */
  async list(req: GatewayRequest, res: ServerResponse): Promise<void> {
    const tasks = this.tasks;
    const q = (name: string): string | undefined => {
      const v = req.query?.[name];
      return typeof v === 'string' && v !== '' ? v : undefined;
    };
    const state = q('state');
    if (state !== undefined && !TASK_STATES.has(state as TaskState)) {
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, `state must be one of ${[...TASK_STATES].join(', ')}`);
    }
    const limitText = q('limit');
    const limit = limitText === undefined ? undefined : Number(limitText);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 100)) {
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, 'limit must be an integer from 1 to 100');
    }
    const cursor = q('cursor');
    if (cursor !== undefined && !isTaskId(cursor))
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, 'cursor is not one this API gave');
    const tenant = this.tenantOf(req);
    const page = await tasks.list({
      context_id: q('context') ?? q('context_id'),
      state: state as TaskState | undefined,
      target: q('target'),
      // A caller without a tenant sees only tasks without one (null), never every tenant's (undefined).
      tenant_id: tenant ?? null,
      cursor,
      limit,
    });
    json(res, 200, page.next_cursor ? { tasks: page.tasks, next_cursor: page.next_cursor } : { tasks: page.tasks });
  }

  /** DELETE /v1/tasks/{id} → 200 with the record (cancelled, or cancel_requested while its worker stops it); ended → 400. */
  async cancel(req: GatewayRequest, res: ServerResponse, id: string): Promise<void> {
    await this.find(req, id);
    json(res, 200, await this.tasks.cancel(id));
  }

  /** POST /v1/tasks/{id}/messages → 202 with the record: the body (JSON) is the input an input-required task asked for. */
  async send(req: GatewayRequest, res: ServerResponse, id: string): Promise<void> {
    await this.find(req, id);
    const content = await this.gateway.readBody(req);
    if (content === undefined)
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, 'the message is the request body (JSON); it is empty');
    json(res, 202, await this.tasks.send(id, content));
  }

  /**
   * GET /v1/tasks/{id}/events → SSE, one block per frame (`event: <event_type>`, `id: <seq>`, `data: <envelope>`),
   * after `Last-Event-ID` (header, or `?last_event_id=`) when given, then live frames, ending after the terminal
   * frame. An ended task with nothing after Last-Event-ID answers 204 (an EventSource then stops reconnecting).
   */
  async events(req: GatewayRequest, res: ServerResponse, id: string): Promise<void> {
    const record = await this.find(req, id);
    const afterSeq = lastSeq(req);
    if (isTerminalTaskState(record.state) && afterSeq >= record.seq) {
      res.statusCode = 204;
      res.end();
      return;
    }
    const release = this.acquireFollower(req);
    const ch = this.gateway.openSse(res);
    ch.open({ 'x-task-id': id });
    const ac = new AbortController();
    ch.onClose(() => ac.abort());
    const write = frameWriter(ch, this.gateway.options.retryMs);
    try {
      for await (const frame of this.tasks.follow(id, { afterSeq, signal: ac.signal })) {
        if (ch.closed) break;
        write(frame);
        if (frame.is_final) break;
        if (ch.congested) await ch.drained();
      }
      ch.end();
    } catch (err) {
      // The store failed under the follower: drop the connection (not a clean end) so the client resumes with Last-Event-ID.
      ch.comment(`error ${(err as Error)?.message ?? String(err)}`.replace(/[\r\n]+/g, ' '));
      ch.destroy();
    } finally {
      release();
    }
  }
}

/**
 * The callback a REST submit asks for: `X-Callback-Url` (allow-listed; `X-Callback-Token` is echoed to it as
 * X-A2A-Notification-Token) → the event and that webhook; `X-Callback: event` → the event only.
 */
function callbackFromHeaders(req: GatewayRequest, allow: readonly URL[]): SubmitOptions['callback'] {
  const url = req.headers['x-callback-url'];
  if (typeof url === 'string' && url) {
    try {
      assertWebhookAllowed(url, allow);
    } catch (err) {
      throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, (err as Error).message);
    }
    const token = req.headers['x-callback-token'];
    return { webhooks: [{ url, format: 'acp', ...(typeof token === 'string' && token ? { token } : {}) }] };
  }
  const kind = req.headers['x-callback'];
  if (kind === undefined) return undefined;
  if (kind !== 'event') throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, 'X-Callback must be "event" (or give X-Callback-Url)');
  return true;
}

/** Writes task frames as SSE blocks: `event`, `id` (the seq), `retry` on the first one, `data` (upstream's order). */
function frameWriter(ch: SseChannel, retryMs: number): (frame: Envelope) => void {
  let retry = retryMs ? `retry: ${retryMs}\n` : '';
  return (frame) => {
    if (ch.closed) return;
    ch.res.write(`event: ${frame.event_type}\nid: ${frame.seq ?? 0}\n${retry}data: ${JSON.stringify(frame)}\n\n`);
    retry = '';
  };
}

/** The seq to resume after: Last-Event-ID (header or query), -1 (from the start) without one; not a seq → 400. */
function lastSeq(req: GatewayRequest): number {
  const h = req.headers['last-event-id'];
  const q = req.query?.last_event_id;
  const text = typeof h === 'string' && h ? h : typeof q === 'string' && q ? q : undefined;
  if (text === undefined) return -1;
  if (!/^\d{1,15}$/.test(text.trim())) {
    throw new GatewayHttpError(ErrorCodes.INVALID_REQUEST, `Last-Event-ID "${text}" is not a frame seq of this task`);
  }
  return Number(text.trim());
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}
