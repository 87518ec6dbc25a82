import { Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { abortableSleep, type TaskConsumer, type TaskDelivery, type TaskRecord, type TaskWebhook } from '@openagentio/nestjs';
import { backoffDelay } from '@openagentio/nestjs/internal/resilience/backoff.js';
import { pendingWebhooks, taskEndEvent } from '@openagentio/nestjs/internal/tasks/task-callback.js';
import { a2aTask } from './a2a-mapping.js';
import { clipUrl, signatureHeaders, webhookRefusal } from './push-notifications.js';
import { TaskGatewayService } from './task-gateway.service.js';

/** Deliveries of one task's queue entry that the task store fails (reading or recording) before it is dropped. */
const MAX_STORE_RETRIES = 5;

/** How one POST went: delivered, worth another try, or not (a redirect, a 4xx other than 408/429). */
type PostOutcome = { ok: true } | { ok: false; retry: boolean; why: string };

/**
 * Delivers task webhooks (A2A push notifications): takes the ended tasks queued for it from the task store's
 * callback queue, shared by every replica (on JetStream one durable consumer: each task to one replica, and one a
 * replica dropped mid-delivery to another after the ack wait), POSTs to each webhook not yet told, with retries and
 * backoff, and records each outcome on the task, so a redelivery skips what was done.
 */
@Injectable()
export class TaskPushService implements OnApplicationBootstrap, OnModuleDestroy {
  private consumer?: TaskConsumer;
  private readonly stopping = new AbortController();

  constructor(private readonly tasks: TaskGatewayService) {}

  private get options() {
    return this.tasks.gateway.options.pushNotifications;
  }

  private get logger() {
    return this.tasks.gateway.bus.logger;
  }

  async onApplicationBootstrap(): Promise<void> {
    const o = this.options;
    if (o.allowUrls.length === 0 || !o.deliver || !this.tasks.available) return;
    this.consumer = await this.tasks.tasks.consumeCallbacks(o.concurrency, (d) => this.deliver(d));
  }

  async onModuleDestroy(): Promise<void> {
    this.stopping.abort();
    await this.consumer?.stop();
  }

  private async deliver(d: TaskDelivery): Promise<void> {
    const keepAlive = d.keepAliveMs ? setInterval(() => d.working(), d.keepAliveMs) : undefined;
    keepAlive?.unref();
    try {
      const record = await this.tasks.tasks.get(d.taskId);
      if (!record) return await d.reject();
      for (const w of pendingWebhooks(record)) {
        await this.deliverOne(record, w);
        if (this.stopping.signal.aborted) return; // unacknowledged: another replica takes it over
      }
      await d.ack();
    } catch (err) {
      if (this.stopping.signal.aborted) return;
      // The store failed under us: the entry comes back later, a few times (each time re-POSTing what was not
      // recorded as delivered), then is dropped rather than loop on a store that keeps refusing the record.
      const again = d.retryLater && d.deliveryCount < MAX_STORE_RETRIES;
      this.logger.warn(`task ${d.taskId}: webhook delivery interrupted (${again ? 'will retry' : 'dropped'}): ${(err as Error)?.message}`);
      if (again) await d.retryLater!(this.options.maxDelayMs);
      else await d.ack();
    } finally {
      if (keepAlive) clearInterval(keepAlive);
    }
  }

  private async deliverOne(record: TaskRecord, w: TaskWebhook): Promise<void> {
    const o = this.options;
    // Checked again at delivery: the list may have shrunk since the webhook was set, or it came from elsewhere.
    const refused = webhookRefusal(w.url, o.allowUrls);
    if (refused) {
      this.logger.warn(`task ${record.id}: webhook ${w.id} not called: ${refused}`);
      return this.tasks.tasks.settleWebhook(record.id, w.id, { failed: `not allowed: ${refused}` });
    }
    const { body, contentType } = this.body(record, w);
    let last = '';
    for (let attempt = 0; attempt < o.attempts; attempt++) {
      if (attempt > 0) {
        const wait = backoffDelay(attempt - 1, { initial: o.initialDelayMs, factor: 2, max: o.maxDelayMs }, [0.8, 1.2]);
        await abortableSleep(wait, this.stopping.signal).catch(() => undefined);
        if (this.stopping.signal.aborted) return;
      }
      const outcome = await this.post(record, w, body, contentType);
      if (outcome.ok) return this.tasks.tasks.settleWebhook(record.id, w.id, { delivered_at: new Date().toISOString() });
      if (this.stopping.signal.aborted) return;
      last = outcome.why;
      if (!outcome.retry) break;
    }
    this.logger.warn(`task ${record.id}: webhook ${w.id} (${clipUrl(w.url)}) given up: ${last}`);
    await this.tasks.tasks.settleWebhook(record.id, w.id, { failed: last });
  }

  private body(record: TaskRecord, w: TaskWebhook): { body: string; contentType: string } {
    switch (w.format) {
      case 'a2a-1.0':
        return { body: JSON.stringify({ task: a2aTask(record, '1.0') }), contentType: 'application/a2a+json' };
      case 'a2a-0.3':
        return { body: JSON.stringify(a2aTask(record, '0.3')), contentType: 'application/json' };
      default:
        return { body: JSON.stringify(taskEndEvent(this.tasks.gateway.bus.agentId, record)), contentType: 'application/json' };
    }
  }

  private async post(record: TaskRecord, w: TaskWebhook, body: string, contentType: string): Promise<PostOutcome> {
    const o = this.options;
    const headers: Record<string, string> = {
      'content-type': contentType,
      'x-acp-task-id': record.id,
      // The same on every retry and redelivery: the receiver's key to drop a repeat.
      'x-acp-notification-id': `${record.id}.${w.id}`,
    };
    if (w.token) headers['x-a2a-notification-token'] = w.token;
    if (w.authentication) headers.authorization = `${w.authentication.scheme} ${w.authentication.credentials}`;
    if (o.signingSecret) Object.assign(headers, signatureHeaders(o.signingSecret, body));
    try {
      const res = await fetch(w.url, {
        method: 'POST',
        headers,
        body,
        // A redirect could lead off the allow list: not followed, and not a delivery.
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(o.timeoutMs), this.stopping.signal]),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return { ok: true };
      const retry = res.status >= 500 || res.status === 408 || res.status === 429;
      return {
        ok: false,
        retry,
        why: res.status >= 300 && res.status < 400 ? `HTTP ${res.status} (redirects are not followed)` : `HTTP ${res.status}`,
      };
    } catch (err) {
      return {
        ok: false,
        retry: true,
        why: (err as Error)?.name === 'TimeoutError' ? `no answer within ${o.timeoutMs} ms` : 'connection failed',
      };
    }
  }
}
