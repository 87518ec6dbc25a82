/**
 * The names of tasks' JetStream resources and the subjects on them, in one place: the store uses them, and so do
 * the generated NATS permissions (security/), which must name exactly what the store touches.
 */
export interface JetStreamTaskNames {
  bucket: string;
  framesStream: string;
  queueStream: string;
  subjectPrefix: string;
}

export const DEFAULT_TASK_NAMES: Readonly<JetStreamTaskNames> = {
  bucket: 'acp_tasks',
  framesStream: 'ACP_TASK_FRAMES',
  queueStream: 'ACP_TASK_QUEUE',
  subjectPrefix: 'acp.tasks',
};

/** The stream behind a KV bucket. */
export function kvStreamOf(bucket: string): string {
  return `KV_${bucket}`;
}

/** The subject of a KV key (`*`/`>` for all keys). */
export function kvKeySubject(bucket: string, key: string): string {
  return `$KV.${bucket}.${key}`;
}

/** Where a task's frames are stored (`*` for every task). */
export function taskFrameSubject(prefix: string, taskId: string): string {
  return `${prefix}.frames.${taskId}`;
}

/** Where runs of a target are queued. */
export function taskQueueSubject(prefix: string, target: string): string {
  return `${prefix}.queue.${target}`;
}

/** Where cancel notices (wake-ups) go. */
export function taskCancelSubject(prefix: string): string {
  return `${prefix}.cancel`;
}

/** The durable pull consumer of a target's queue (one per target, shared by its workers). */
export function taskQueueDurable(target: string): string {
  return `tasks_${target.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}
