import { BusError } from '../errors/bus-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { NS, PULL_EXPIRES_MS, type Js, type JsClient, type JsManager } from './jetstream-lib.js';
import { taskQueueDurable, taskQueueSubject } from './jetstream-names.js';
import { isTransient, retrying } from './jetstream-retry.js';
import type { TaskConsumer, TaskDelivery } from './task-store.interface.js';

/** What a target's queue consumer needs of the JetStream task store: its handles and resolved options. */
export interface QueueConsumerDeps {
  readonly jsLib: Js;
  readonly js: JsClient;
  readonly jsm: JsManager;
  readonly subjectPrefix: string;
  readonly queueStream: string;
  readonly ackWaitMs: number;
  readonly retryWindowMs: number;
  /** Called when the consumer is stopped, before it stops pulling. */
  onStop(consumer: TaskConsumer): void;
}

/**
 * The queued runs of one target: a durable pull consumer of the work-queue stream, shared by every worker of the
 * target, holding at most `concurrency` runs at once. A run is acknowledged only once its outcome is stored, so one
 * whose worker dies is delivered again after `ackWaitMs`.
 */
export async function consumeQueue(
  q: QueueConsumerDeps,
  target: string,
  concurrency: number,
  run: (d: TaskDelivery) => Promise<void>,
): Promise<TaskConsumer> {
  const durable = taskQueueDurable(target);
  const config = {
    durable_name: durable,
    ack_policy: q.jsLib.AckPolicy.Explicit,
    filter_subject: taskQueueSubject(q.subjectPrefix, target),
    ack_wait: q.ackWaitMs * NS,
    max_deliver: -1,
  };
  const info = await retrying(`starting the queue consumer of ${target}`, q.retryWindowMs, async () => {
    try {
      await q.jsm.consumers.add(q.queueStream, config);
    } catch (err) {
      if (isTransient(err)) throw err;
      if (!/already (exists|in use)/i.test((err as Error).message)) await q.jsm.consumers.update(q.queueStream, durable, config);
    }
    return q.jsm.consumers.info(q.queueStream, durable);
  });
  if (info.config.ack_wait !== config.ack_wait) {
    throw new BusError(
      ErrorCodes.TRANSPORT_FAILURE,
      `consumer ${durable} kept ack_wait ${(info.config.ack_wait ?? 0) / NS} ms, not ${q.ackWaitMs} ms`,
      {
        retryable: false,
      },
    );
  }
  const messages = await retrying(`starting the queue consumer of ${target}`, q.retryWindowMs, async () =>
    // Pulls again once three quarters of what it asked for have come (nats.js's default is a quarter: one pull
    // request per message under load); how many it holds is bounded by max_messages either way.
    (await q.js.consumers.get(q.queueStream, durable)).consume({
      max_messages: concurrency,
      threshold_messages: Math.max(1, Math.floor(concurrency / 4)),
      expires: PULL_EXPIRES_MS,
    }),
  );
  let active = 0;
  let stopped = false;
  let room: (() => void) | undefined;
  const keepAliveMs = Math.max(100, Math.floor(q.ackWaitMs / 3));
  const loop = (async () => {
    for await (const m of messages) {
      active++;
      let acked = false;
      const delivery: TaskDelivery = {
        taskId: m.string(),
        deliveryId: String(m.seq),
        deliveryCount: m.info.deliveryCount,
        working: () => m.working(),
        keepAliveMs,
        ack: async () => {
          if (acked) return;
          acked = true;
          // A plain ack, not a request for the server's receipt: one lost comes back after ackWaitMs, finds the task
          // ended and is acknowledged then (retried, not lost), so a receipt would buy nothing but a round trip.
          m.ack();
        },
        reject: async () => {
          if (acked) return;
          acked = true;
          m.term();
        },
        retryLater: async (ms: number) => {
          if (acked) return;
          acked = true;
          m.nak(ms);
        },
      };
      void run(delivery)
        .catch(() => undefined)
        .finally(() => {
          active--;
          room?.();
        });
      // Hold the iteration (and so the pulls) while `concurrency` runs are in progress.
      while (active >= concurrency && !stopped) await new Promise<void>((r) => (room = r));
      if (stopped) break;
    }
  })();
  const consumer: TaskConsumer = {
    stop: async () => {
      stopped = true;
      q.onStop(consumer);
      messages.stop();
      room?.();
      await loop.catch(() => undefined);
    },
  };
  return consumer;
}
