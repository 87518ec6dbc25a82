import { announcementSubject } from '../discovery/announcement.js';
import { SERVICE_API_PREFIX } from '../discovery/micro-types.js';
import { serviceNameOf } from '../discovery/service-name.js';
import { subjectMatches } from '../protocol/subject-match.js';
import { DEFAULT_SUBJECT_PREFIX, SubjectScheme } from '../protocol/subjects.js';
import { DEFAULT_TASK_NAMES, taskQueueSubject } from '../tasks/jetstream-names.js';
import { agentInboxPrefix } from './agent-inbox.js';
import type { AgentSpec, AppSpec } from './agent-spec.js';
import { effectiveCalls } from './invoke-policy.js';
import type { AgentPermissions } from './nats-permissions.js';
import { SubjectSet } from './subject-set.js';
import { addTaskPermissions } from './task-permissions.js';

export const DEFAULT_RESPONSE_WINDOW = '10m';

/**
 * The least NATS permissions one agent of `app` needs, from what it serves, subscribes to, calls and publishes
 * (docs/security.md lists every entry and why). Subjects come from the functions the bus itself uses
 * (SubjectScheme, the discovery and task subject builders), so they cannot drift apart.
 *
 * Replies never need a publish permission on another agent's inbox: a responder answers on the NATS reply subject
 * of the request (the bus sets it to the envelope's `reply_to`), a caller sends credit and cancel on the NATS reply
 * subject of the stream's `started` frame, and a liveness probe is answered the same way: `allow_responses`.
 */
export function agentPermissions(agent: AgentSpec, app: AppSpec = { agents: [agent] }): AgentPermissions {
  const subjects = new SubjectScheme(agent.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX, agent.tenant);
  const inboxPrefix = agent.inboxPrefix ?? agentInboxPrefix(agent.agentId);
  const pub = new SubjectSet();
  const sub = new SubjectSet();
  const notes: string[] = [];
  const rules: AgentPermissions['rules'] = [];

  // Its own inbox: replies, control frames of the calls it serves, chunk exchange, nats.js requests.
  sub.add(`${inboxPrefix}.>`);
  pub.add(`${inboxPrefix}.>`);

  const serves = agent.serves ?? [];
  for (const t of serves) sub.add(subjects.invoke(t), subjects.cancel(t));

  const calls = effectiveCalls(agent, app.policy);
  if (calls.allow.includes('>')) notes.push(`calls: unrestricted (no calls option${app.policy ? ', no policy allow' : ''})`);
  for (const c of calls.allow) pub.add(subjects.invoke(c), subjects.cancel(c));
  const deny: string[] = [];
  const taskPrefix = { ...DEFAULT_TASK_NAMES, ...agent.tasks?.names }.subjectPrefix;
  for (const d of calls.deny) {
    const denied = [subjects.invoke(d.pattern), subjects.cancel(d.pattern)];
    if (agent.tasks) denied.push(taskQueueSubject(taskPrefix, d.pattern));
    for (const s of denied) {
      deny.push(s);
      rules.push({ operation: 'publish', subject: s, rule: d.rule });
    }
  }
  rules.push({ operation: 'publish', subject: subjects.invoke('>'), rule: calls.because });

  for (const p of agent.subscribes ?? []) {
    sub.add(subjects.event(p));
    // A subscriber whose handler fails for good publishes the event as a dead letter.
    pub.add(subjects.deadLetter(p));
  }
  const publishes = agent.publishes ?? ['>'];
  if (agent.publishes === undefined) notes.push('publishes: unrestricted (no publishes option)');
  for (const p of publishes) pub.add(subjects.event(p));
  rules.push({
    operation: 'publish',
    subject: subjects.event('>'),
    rule: `agent "${agent.agentId}" publishes only ${publishes.join(', ')}`,
  });

  // Discovery: anyone may ask and watch; only the service itself is asked by name and announces as itself.
  pub.add(`${SERVICE_API_PREFIX}.>`);
  sub.add(announcementSubject(subjects.prefix));
  if (agent.discovery !== false) {
    const name = (typeof agent.discovery === 'object' && agent.discovery.name) || serviceNameOf(agent.agentId);
    sub.add(`${SERVICE_API_PREFIX}.*`, `${SERVICE_API_PREFIX}.*.${name}`, `${SERVICE_API_PREFIX}.*.${name}.*`);
    pub.add(announcementSubject(subjects.prefix, name, '*'));
  }

  // Chunked messages are pulled from the sender's inbox (`<inbox>.s.<transfer>`): only from agents it talks to.
  for (const peer of peersOf(agent, app)) pub.add(`${peer.inboxPrefix ?? agentInboxPrefix(peer.agentId)}.*.s.*`);

  // A worker queues runs of its own targets too: a task served as an invoke (the invoke adapter) submits it.
  if (agent.tasks)
    addTaskPermissions(pub, sub, agent.tasks.names, agent.tasks.serves ?? [], [...calls.allow, ...(agent.tasks.serves ?? [])]);

  const permissions: AgentPermissions['permissions'] = {
    publish: { allow: pub.toArray(), ...(deny.length ? { deny } : {}) },
    subscribe: { allow: sub.toArray() },
    allow_responses: { max: -1, expires: app.responseWindow ?? DEFAULT_RESPONSE_WINDOW },
  };
  return { agentId: agent.agentId, user: agent.agentId, inboxPrefix, permissions, rules, notes };
}

/** The other agents this one exchanges calls or events with (either way), whose chunked messages it may pull. */
function peersOf(agent: AgentSpec, app: AppSpec): AgentSpec[] {
  return app.agents.filter((other) => other.agentId !== agent.agentId && (talks(agent, other, app) || talks(other, agent, app)));
}

function talks(from: AgentSpec, to: AgentSpec, app: AppSpec): boolean {
  const calls = effectiveCalls(from, app.policy).allow;
  if ((to.serves ?? []).some((t) => calls.some((c) => subjectMatches(c, t)))) return true;
  if ((to.tasks?.serves ?? []).some((t) => calls.some((c) => subjectMatches(c, t)))) return true;
  const pubs = from.publishes ?? ['>'];
  return (to.subscribes ?? []).some((s) => pubs.some((p) => overlap(p, s)));
}

/** Whether two patterns can match one subject (conservative: true when unsure). */
function overlap(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] === '>' || y[i] === '>') return true;
    if (x[i] === undefined || y[i] === undefined) return false;
    if (x[i] !== '*' && y[i] !== '*' && x[i] !== y[i]) return false;
  }
  return true;
}
