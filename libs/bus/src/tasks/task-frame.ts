import { createEvent } from '../protocol/envelope-factory.js';
import type { Envelope } from '../protocol/envelope.js';
import { TaskEventTypes, type TaskRecord } from './task.types.js';

/** The session and trace fields every envelope about a task carries (its frames, its end event). */
export function taskSession(record: TaskRecord) {
  return {
    session_id: record.session_id,
    conversation_id: record.context_id,
    tenant_id: record.tenant_id,
    user_id: record.user_id,
    channel: record.channel,
    traceparent: record.traceparent,
  };
}

/** A frame of the task: its session and trace, correlation_id = task id, its seq; terminal frames are final. */
export function taskFrame(from: string, record: TaskRecord, eventType: string, payload: unknown): Envelope {
  const env = createEvent(eventType, payload, { from, ...taskSession(record) });
  env.correlation_id = record.id;
  env.seq = record.seq;
  if (eventType === TaskEventTypes.COMPLETED) env.is_final = true;
  return env;
}

/**
 * What a `created` frame carries: the task without its (possibly large) history and artifacts, and without its
 * callback (webhook tokens and credentials are not for every follower of the log).
 */
export function summary(r: TaskRecord): Record<string, unknown> {
  const { history: _h, artifacts: _a, callback: _c, ...rest } = r;
  return rest;
}

/** The frame that opens a task's log (seq 0). */
export function createdFrame(from: string, record: TaskRecord): Envelope {
  return taskFrame(from, record, TaskEventTypes.CREATED, { task: summary(record) });
}
