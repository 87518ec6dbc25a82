import type { BusClient } from '../bus/bus-client.js';
import { createEvent } from '../protocol/envelope-factory.js';
import type { Envelope } from '../protocol/envelope.js';
import { eventIdFrom } from '../protocol/ids.js';
import { taskSession } from './task-frame.js';
import type { TaskStore } from './task-store.interface.js';
import { TaskEventTypes, type TaskRecord } from './task.types.js';

/**
 * The queue of webhook deliveries: one entry (the task id) per ended task that has webhooks. Not a valid task
 * target name (a leading `_` token is ours), so no `@Task` worker can take its entries; gateways consume it
 * (JetStream: the durable consumer `tasks__callbacks`, shared by every gateway replica, each entry to one of them).
 */
export const TASK_CALLBACK_QUEUE = '_callbacks';

/** The payload of a task's end: `{task_id, state, result?, error?}`, as its terminal frame carries it. */
export function taskEndPayload(record: TaskRecord): Record<string, unknown> {
  const payload: Record<string, unknown> = { task_id: record.id, state: record.state };
  if (record.result !== undefined) payload.result = record.result;
  if (record.error) payload.error = record.error;
  return payload;
}

/**
 * The `agent.task.completed` event of an ended task (the name upstream reserves): its end payload, the task's
 * session, tenant, user, channel and trace, `correlation_id` = the task id. Also the body of an `acp` webhook.
 */
export function taskEndEvent(from: string, record: TaskRecord): Envelope {
  const env = createEvent(TaskEventTypes.COMPLETED, taskEndPayload(record), { from, ...taskSession(record) });
  env.correlation_id = record.id;
  return env;
}

/**
 * Publishes a task's end on `{prefix}.events.agent.task.completed`, the one place that does. With tasks on
 * JetStream (or everything in memory) a durable publish (docs/events.md) whose event_id is made from the task id,
 * so an announcement repeated by a retry is stored once; a core publish (at most once) otherwise: a memory task
 * store over NATS has no JetStream to count on.
 */
export async function publishTaskEnd(bus: BusClient, record: TaskRecord, durable: boolean): Promise<void> {
  await bus.publish(TaskEventTypes.COMPLETED, taskEndPayload(record), {
    ...(durable ? { durable: true, event_id: eventIdFrom('agent.task.completed', record.id) } : {}),
    correlation_id: record.id,
    ...taskSession(record),
  });
}

/**
 * Announces an ended task that asked for it: the event, and a delivery queued for its webhooks still to be told.
 * Called by whoever ended the task (the compare-and-set that holds), after its terminal frame. A failure is logged,
 * never thrown: the task has ended either way.
 */
export async function announceTaskEnd(bus: BusClient, store: TaskStore, record: TaskRecord): Promise<void> {
  if (!record.callback) return;
  try {
    await publishTaskEnd(bus, record, store.kind === 'jetstream' || bus.transport.kind === 'memory');
  } catch (err) {
    bus.logger.warn(`task ${record.id}: its agent.task.completed event was not published: ${(err as Error)?.message}`);
  }
  if (pendingWebhooks(record).length > 0) await queueCallback(bus, store, record.id, 'cb');
}

/** Queues the delivery of a task's webhooks; `key` de-duplicates (the store's window) a second queueing of the same. */
export async function queueCallback(bus: BusClient, store: TaskStore, taskId: string, key: string): Promise<void> {
  try {
    await store.enqueue(TASK_CALLBACK_QUEUE, taskId, key);
  } catch (err) {
    bus.logger.warn(`task ${taskId}: the delivery of its webhooks was not queued: ${(err as Error)?.message}`);
  }
}

/** The webhooks of a task neither delivered nor given up. */
export function pendingWebhooks(record: TaskRecord): NonNullable<NonNullable<TaskRecord['callback']>['webhooks']> {
  return (record.callback?.webhooks ?? []).filter((w) => !w.delivered_at && !w.failed);
}
