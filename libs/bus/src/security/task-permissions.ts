import {
  DEFAULT_TASK_NAMES,
  kvKeySubject,
  kvStreamOf,
  taskCancelSubject,
  taskFrameSubject,
  taskQueueDurable,
  taskQueueSubject,
  type JetStreamTaskNames,
} from '../tasks/jetstream-names.js';
import type { SubjectSet } from './subject-set.js';

const API = '$JS.API';

/**
 * What a TasksModule participant needs on JetStream (tasks/jetstream-task-store.ts): the JetStream API for the
 * three streams by name (create or update them at start, read and delete messages, its followers' ordered
 * consumers), the durable queue consumers of the targets it serves and no other, the bucket's keys, the frames,
 * the queues of the targets it may submit to, and cancel notices. Nothing on other streams.
 */
export function addTaskPermissions(
  pub: SubjectSet,
  sub: SubjectSet,
  names: Partial<JetStreamTaskNames> | undefined,
  serves: readonly string[],
  submits: readonly string[],
): void {
  const n = { ...DEFAULT_TASK_NAMES, ...names };
  const kv = kvStreamOf(n.bucket);
  pub.add(`${API}.INFO`);
  for (const s of [n.framesStream, n.queueStream, kv]) {
    for (const op of ['INFO', 'CREATE', 'UPDATE', 'MSG.GET', 'MSG.DELETE']) pub.add(`${API}.STREAM.${op}.${s}`);
    pub.add(`${API}.DIRECT.GET.${s}`, `${API}.DIRECT.GET.${s}.>`);
  }
  // Followers' ordered consumers on the frames (and any on the bucket): made, read, deleted by whoever follows.
  for (const s of [n.framesStream, kv]) {
    pub.add(`${API}.CONSUMER.CREATE.${s}`, `${API}.CONSUMER.CREATE.${s}.>`);
    for (const op of ['INFO', 'DELETE', 'MSG.NEXT']) pub.add(`${API}.CONSUMER.${op}.${s}.*`);
  }
  // A work queue's consumer only for the targets this agent serves: nobody else takes its runs.
  for (const target of serves) {
    const d = taskQueueDurable(target);
    pub.add(
      `${API}.CONSUMER.CREATE.${n.queueStream}.${d}`,
      `${API}.CONSUMER.CREATE.${n.queueStream}.${d}.>`,
      `${API}.CONSUMER.DURABLE.CREATE.${n.queueStream}.${d}`,
      `${API}.CONSUMER.INFO.${n.queueStream}.${d}`,
      `${API}.CONSUMER.MSG.NEXT.${n.queueStream}.${d}`,
      `$JS.ACK.${n.queueStream}.${d}.>`,
    );
  }
  pub.add(kvKeySubject(n.bucket, '>'), taskFrameSubject(n.subjectPrefix, '*'), taskCancelSubject(n.subjectPrefix));
  for (const target of submits) pub.add(taskQueueSubject(n.subjectPrefix, target));
  sub.add(taskCancelSubject(n.subjectPrefix));
}
