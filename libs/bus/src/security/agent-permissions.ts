import { announcementSubject } from '../discovery/announcement.js';
import { SERVICE_API_PREFIX } from '../discovery/micro-types.js';
import { serviceNameOf } from '../discovery/service-name.js';
import { subjectMatches } from '../protocol/subject-match.js';
import { DEFAULT_SUBJECT_PREFIX, SubjectScheme } from '../protocol/subjects.js';
import { DEFAULT_TASK_NAMES, taskQueueSubject } from '../tasks/jetstream-names.js';
import { agentInboxPrefix } from './agent-inbox.js';
import type { AgentSpec, AppSpec } from './agent-spec.js';
import { DISCOVERY_INBOX_TOKEN } from '../discovery/discovery-inbox.js';
import { effectiveCalls } from './invoke-policy.js';
import type { AgentPermissions } from './nats-permissions.js';
import { SubjectSet } from './subject-set.js';
import { addTaskPermissions } from './task-permissions.js';
import { addEventLogPermissions } from './event-log-permissions.js';
import { TASK_CALLBACK_QUEUE } from '../tasks/task-callback.js';
import { TaskEventTypes } from '../tasks/task.types.js';

/**
 * The least NATS permissions one agent of `app` needs, from what it serves, subscribes to, calls and publishes
 * (docs/security.md lists every entry and why). Subjects come from the functions the bus itself uses
 * (SubjectScheme, the discovery and task subject builders), so they cannot drift apart.
 *
 * Other agents' inboxes, by who talks to whom (the app's call graph, not a wildcard):
 * - an agent that may call one of P's targets sends P control frames and chunk pulls, and chunks of its requests:
 *   `<P inbox>.*.ctl.*`, `<P inbox>.*.s.*`, `<P inbox>.*.c.*`;
 * - an agent whose targets P may call answers P: `<P inbox>.>` (replies, liveness probes, chunks);
 * - events: a publisher answers its subscribers' chunk pulls (`.c.`), a subscriber pulls (`.s.`);
 * - discovery answers go to the askers' discovery inboxes, `<P inbox>.*.srv`.
 * No `allow_responses`: nats-server 2.9 keeps one entry per received request for it and scans them all on every
 * delivery past 4,096, which cost three quarters of the invoke throughput (BENCHMARKS.md).
 */
export function agentPermissions(agent: AgentSpec, app: AppSpec = { agents: [agent] }): AgentPermissions {
  const subjects = new SubjectScheme(agent.subjectPrefix ?? DEFAULT_SUBJECT_PREFIX, agent.tenant);
  const inboxPrefix = inboxOf(agent);
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
  // …but only an operator (the console) drains, resumes, or reads what other processes did.
  if (!agent.operator) {
    for (const s of [`${SERVICE_API_PREFIX}.DRAIN.>`, `${SERVICE_API_PREFIX}.RESUME.>`, `${SERVICE_API_PREFIX}.SPANS`]) {
      deny.push(s);
      rules.push({
        operation: 'publish',
        subject: s,
        rule: `agent "${agent.agentId}" is not an operator (only the console drains, resumes and reads spans)`,
      });
    }
  }
  sub.add(announcementSubject(subjects.prefix));
  const answers = agent.discovery !== false;
  if (answers) {
    const name = (typeof agent.discovery === 'object' && agent.discovery.name) || serviceNameOf(agent.agentId);
    sub.add(`${SERVICE_API_PREFIX}.*`, `${SERVICE_API_PREFIX}.*.${name}`, `${SERVICE_API_PREFIX}.*.${name}.*`);
    pub.add(announcementSubject(subjects.prefix, name, '*'));
  }

  for (const other of app.agents) {
    if (other.agentId === agent.agentId) continue;
    const theirs = inboxOf(other);
    if (answers) pub.add(`${theirs}.*.${DISCOVERY_INBOX_TOKEN}`);
    if (mayCall(other, agent, app)) pub.add(`${theirs}.>`);
    else {
      if (mayCall(agent, other, app)) pub.add(`${theirs}.*.ctl.*`, `${theirs}.*.s.*`, `${theirs}.*.c.*`);
      if (sendsEvents(agent, other)) pub.add(`${theirs}.*.c.*`);
      if (sendsEvents(other, agent)) pub.add(`${theirs}.*.s.*`);
    }
  }

  // A worker queues runs of its own targets too: a task served as an invoke (the invoke adapter) submits it.
  // Whoever ends a task (a worker, a cancelling client) announces it when it was submitted with a callback: the
  // agent.task.completed event and an entry on the webhook queue, which a gateway with push notifications consumes.
  if (agent.tasks) {
    addTaskPermissions(
      pub,
      sub,
      agent.tasks.names,
      [...(agent.tasks.serves ?? []), TASK_CALLBACK_QUEUE],
      [...calls.allow, ...(agent.tasks.serves ?? []), TASK_CALLBACK_QUEUE],
    );
    pub.add(subjects.event(TaskEventTypes.COMPLETED));
  }
  if (agent.tasks || agent.durableEvents) addEventLogPermissions(pub, agent);

  const permissions: AgentPermissions['permissions'] = {
    publish: { allow: pub.toArray(), ...(deny.length ? { deny } : {}) },
    subscribe: { allow: sub.toArray() },
  };
  return { agentId: agent.agentId, user: agent.agentId, inboxPrefix, permissions, rules, notes };
}

function inboxOf(agent: AgentSpec): string {
  return agent.inboxPrefix ?? agentInboxPrefix(agent.agentId);
}

/** Whether `from` may call a target (invoke, stream or task) that `to` serves. */
function mayCall(from: AgentSpec, to: AgentSpec, app: AppSpec): boolean {
  const { allow, deny } = effectiveCalls(from, app.policy);
  const served = [...(to.serves ?? []), ...(to.tasks?.serves ?? [])];
  return served.some((t) => allow.some((c) => overlap(c, t)) && !deny.some((d) => covers(d.pattern, t)));
}

/** Whether `from` may publish an event `to` subscribes to. */
function sendsEvents(from: AgentSpec, to: AgentSpec): boolean {
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

/** Whether a deny pattern refuses every subject of target pattern `t` (then nobody calls it through there). */
function covers(deny: string, t: string): boolean {
  return !t.includes('*') && !t.includes('>') && subjectMatches(deny, t);
}
