import { defaultEventStreamName } from '../durable/durable-events.js';
import type { AgentSpec } from './agent-spec.js';
import type { SubjectSet } from './subject-set.js';

const API = '$JS.API';

/**
 * What durable events need on JetStream (durable/jetstream-event-log.ts): finding the stream that captures the
 * events (`STREAM.NAMES`), reading or creating the one stream of the log, and for each durable name the agent
 * subscribes with, its consumer (made, read, pulled, acknowledged). Not other consumers of the stream: a
 * participant cannot take another agent's events from its durable consumer.
 */
export function addEventLogPermissions(pub: SubjectSet, agent: AgentSpec): void {
  const stream = agent.durableEvents?.stream ?? defaultEventStreamName(agent.tenant);
  pub.add(`${API}.INFO`, `${API}.STREAM.NAMES`, `${API}.STREAM.INFO.${stream}`, `${API}.STREAM.CREATE.${stream}`);
  for (const c of agent.durableEvents?.consumers ?? []) {
    pub.add(
      `${API}.CONSUMER.INFO.${stream}.${c}`,
      `${API}.CONSUMER.CREATE.${stream}.${c}`,
      `${API}.CONSUMER.CREATE.${stream}.${c}.>`,
      `${API}.CONSUMER.DURABLE.CREATE.${stream}.${c}`,
      `${API}.CONSUMER.MSG.NEXT.${stream}.${c}`,
      `$JS.ACK.${stream}.${c}.>`,
    );
  }
}
