import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  agentPermissions,
  appPermissions,
  natsPermissionRulesFor,
  natsServerAuthorization,
  nscCommands,
  type AppSpec,
} from '@openagentio/nestjs';

describe('generated NATS permissions (what each agent gets, and what it does not)', () => {
  it('a declared agent gets its own inbox, its targets, its calls and its events, and nothing wider', () => {
    const p = agentPermissions({
      agentId: 'billing.invoices',
      serves: ['billing.charge'],
      subscribes: ['orders.*'],
      calls: ['worker.*'],
      publishes: ['billing.charged'],
    }).permissions;
    assert.deepEqual(p.subscribe.allow.slice(0, 3), [
      '_INBOX.billing_invoices.>',
      'acp.v1.invoke.billing.charge',
      'acp.v1.cancel.billing.charge',
    ]);
    for (const s of ['acp.v1.invoke.worker.*', 'acp.v1.cancel.worker.*', 'acp.v1.events.billing.charged', 'acp.v1.dlq.orders.*'])
      assert.ok(p.publish.allow.includes(s), s);
    for (const wide of ['>', '_INBOX.>', 'acp.v1.invoke.>', 'acp.v1.events.>', '$JS.API.>', '$KV.acp_tasks.>']) {
      assert.ok(!p.publish.allow.includes(wide) && !p.subscribe.allow.includes(wide), `${wide} is not granted`);
    }
    assert.ok(p.subscribe.allow.includes('$SRV.*.billing_invoices.*'));
    assert.equal((p as unknown as Record<string, unknown>).allow_responses, undefined, 'no allow_responses (BENCHMARKS.md)');
  });

  it('an agent that declares nothing may call and publish anything, and the output says so', () => {
    const a = agentPermissions({ agentId: 'new' });
    assert.ok(a.permissions.publish.allow.includes('acp.v1.invoke.>'));
    assert.ok(a.permissions.publish.allow.includes('acp.v1.events.>'));
    assert.ok(a.notes.some((n) => /calls: unrestricted/.test(n)));
    assert.match(natsServerAuthorization({ agents: [{ agentId: 'new' }] }), /# calls: unrestricted/);
  });

  it('tenant scope and a subject prefix come from the same SubjectScheme the bus uses', () => {
    const p = agentPermissions({ agentId: 'a', subjectPrefix: 'corp', tenant: 't1', serves: ['x'], calls: ['y'] }).permissions;
    assert.ok(p.subscribe.allow.includes('corp.t1.invoke.x'));
    assert.ok(p.publish.allow.includes('corp.t1.invoke.y'));
    assert.ok(p.subscribe.allow.includes('corp.discovery.changed.>'), 'announcements are never tenant-scoped');
  });

  it('a policy allow replaces the calls, its deny is a server deny entry, and both name their rule', () => {
    const app: AppSpec = {
      agents: [
        { agentId: 'router', calls: ['>'], tasks: {} },
        { agentId: 'billing', serves: ['billing.charge'] },
      ],
      policy: [
        { name: 'router-scope', callers: ['router'], allow: ['worker.*', 'billing.*'] },
        { name: 'no-billing', callers: ['*'], deny: ['billing.>'] },
      ],
    };
    const p = agentPermissions(app.agents[0], app);
    assert.ok(!p.permissions.publish.allow.includes('acp.v1.invoke.>'));
    assert.ok(p.permissions.publish.allow.includes('acp.v1.invoke.worker.*'));
    assert.deepEqual(p.permissions.publish.deny, [
      'acp.v1.invoke.billing.>',
      'acp.v1.cancel.billing.>',
      'acp.tasks.queue.billing.>',
      // Not an operator: no drain, resume or spans of other instances (the console's agent gets them).
      '$SRV.DRAIN.>',
      '$SRV.RESUME.>',
      '$SRV.SPANS',
    ]);
    const rules = natsPermissionRulesFor(app, 'router');
    assert.match(rules[0].rule, /rule "no-billing" denies agent "router" calls to billing\.>/);
    assert.match(rules.find((r) => r.subject === 'acp.v1.invoke.>')!.rule, /rule "router-scope".*worker\.\*, billing\.\*/);
  });

  it('only the targets an agent serves (and the webhook queue) get a task queue consumer', () => {
    const p = agentPermissions({ agentId: 'w', calls: [], publishes: [], tasks: { serves: ['report.build'] } }).permissions.publish.allow;
    assert.ok(p.includes('$JS.API.CONSUMER.MSG.NEXT.ACP_TASK_QUEUE.tasks_report_build'));
    assert.ok(
      !p.some((s) => s.startsWith('$JS.API.CONSUMER.') && s.includes('ACP_TASK_QUEUE') && !/tasks_report_build|tasks__callbacks/.test(s)),
    );
    assert.ok(p.includes('acp.tasks.queue.report.build'), 'its own task served as an invoke queues it');
    // Task callbacks: whoever ends a task announces it (publishes nothing else), and queues its webhooks.
    assert.ok(p.includes('acp.v1.events.agent.task.completed'), 'the task-end event, though it declares no publishes');
    assert.ok(p.includes('acp.tasks.queue._callbacks'));
    assert.ok(p.includes('$JS.API.CONSUMER.MSG.NEXT.ACP_TASK_QUEUE.tasks__callbacks'));
    // …and its end is a durable event: the events log's stream, found or created, and no consumer of it.
    assert.ok(p.includes('$JS.API.STREAM.NAMES') && p.includes('$JS.API.STREAM.CREATE.ACP_EVENTS'));
    assert.ok(!p.some((s) => s.startsWith('$JS.API.CONSUMER.') && s.includes('ACP_EVENTS')));
  });

  it('only an operator (the console) may drain, resume and read spans', () => {
    const plain = agentPermissions({ agentId: 'w', calls: [], publishes: [] }).permissions.publish;
    assert.deepEqual(plain.deny, ['$SRV.DRAIN.>', '$SRV.RESUME.>', '$SRV.SPANS']);
    const op = agentPermissions({ agentId: 'router', calls: [], publishes: [], operator: true }).permissions.publish;
    assert.equal(op.deny, undefined);
    assert.ok(op.allow.includes('$SRV.>'));
  });

  it('durable events: the log of the agent (its tenant), and the consumers of its durable names only', () => {
    const p = agentPermissions({
      agentId: 'billing',
      tenant: 'acme',
      calls: [],
      publishes: [],
      durableEvents: { consumers: ['billing'] },
    }).permissions.publish.allow;
    assert.ok(p.includes('$JS.API.STREAM.INFO.ACP_EVENTS_acme'));
    assert.ok(p.includes('$JS.API.CONSUMER.MSG.NEXT.ACP_EVENTS_acme.billing'));
    assert.ok(p.includes('$JS.ACK.ACP_EVENTS_acme.billing.>'));
    assert.ok(!p.some((s) => s.includes('ACP_EVENTS_acme.') && !/\.billing(\.|$)/.test(s)), 'no other consumer');
    assert.deepEqual(
      agentPermissions({ agentId: 'plain', calls: [], publishes: [] }).permissions.publish.allow.filter((s) => s.startsWith('$JS.')),
      [],
      'no durable events, no JetStream',
    );
  });

  it("another agent's inbox: all of it for the agents that may call this one, control and chunk subjects for those it calls, nothing else", () => {
    const app: AppSpec = {
      agents: [
        { agentId: 'caller', calls: ['svc'] },
        { agentId: 'svc', serves: ['svc'], calls: [] },
        { agentId: 'stranger', serves: ['other'], calls: [] },
      ],
    };
    const [caller, svc, stranger] = appPermissions(app).map((a) => a.permissions.publish.allow);
    assert.ok(svc.includes('_INBOX.caller.>'), 'the responder answers its caller');
    for (const s of ['_INBOX.svc.*.ctl.*', '_INBOX.svc.*.s.*', '_INBOX.svc.*.c.*']) assert.ok(caller.includes(s), s);
    assert.ok(!caller.includes('_INBOX.svc.>'));
    assert.ok(!stranger.some((s) => /^_INBOX\.(caller|svc)\.(>|\*\.(ctl|s|c)\.\*)$/.test(s)), `${stranger}`);
    assert.ok(stranger.includes('_INBOX.caller.*.srv'), 'discovery answers, to the askers only');
  });

  it('two agents whose inbox tokens meet are refused; nsc commands carry the same lists', () => {
    assert.throws(() => appPermissions({ agents: [{ agentId: 'a.b' }, { agentId: 'a_b' }] }), /share the inbox prefix/);
    const nsc = nscCommands({ agents: [{ agentId: 'w', serves: ['x'] }] });
    assert.match(nsc, /nsc add user --account APP --name "w"/);
    assert.match(nsc, /--allow-sub '_INBOX\.w\.>,acp\.v1\.invoke\.x,/);
  });
});
