import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  agentInboxPrefix,
  BusClient,
  BusError,
  DiscoveryClient,
  NatsTransport,
  credentialVariable,
  natsPermissionRulesFor,
  natsServerAuthorization,
  type AppSpec,
} from '@openagentio/nestjs';
import { NatsServer } from '../support/nats-server.js';
import { RecordingLogger, quietLogger } from '../nats/helpers.js';
import { rogueConnection } from './rogue-connection.js';

/**
 * Five agents, one NATS user each, with the permissions generated from what they serve and declare; the rogue is a
 * new agent with what a new agent gets: it serves one target and calls the workers.
 */
const app: AppSpec = {
  agents: [
    { agentId: 'router', serves: ['router.ask'], subscribes: ['news.>'], calls: ['worker.*', 'writer', 'billing.*'] },
    { agentId: 'writer', serves: ['writer'], calls: [], publishes: ['news.written'] },
    { agentId: 'workers', serves: ['worker.echo'], calls: [], publishes: [] },
    { agentId: 'billing', serves: ['billing.charge'], calls: [], publishes: [] },
    { agentId: 'rogue', serves: ['rogue.echo'], calls: ['worker.*'] },
  ],
  policy: [{ name: 'router-not-billing', callers: ['router'], deny: ['billing.>'] }],
};

const password = (agentId: string) => `pw-${agentId}-${process.pid}`;
const env = Object.fromEntries(app.agents.map((a) => [credentialVariable(a.agentId), password(a.agentId)]));

describe('least privilege: generated NATS permissions on a real server (docs/security.md)', () => {
  let server: NatsServer;
  const buses = new Map<string, BusClient>();
  const logs = new Map<string, RecordingLogger>();
  const bus = (id: string) => buses.get(id)!;

  before(async () => {
    server = await NatsServer.start({ authorization: natsServerAuthorization(app), env, maxPayload: 64 * 1024 });
    for (const a of app.agents) {
      const logger = new RecordingLogger();
      logs.set(a.agentId, logger);
      const transport = new NatsTransport({
        servers: server.url,
        user: a.agentId,
        pass: password(a.agentId),
        inboxPrefix: agentInboxPrefix(a.agentId),
        permissionRules: natsPermissionRulesFor(app, a.agentId),
        logger,
      });
      const b = new BusClient(transport, { agentId: a.agentId, logger: quietLogger, streamWindow: 4 });
      await b.connect();
      buses.set(a.agentId, b);
    }
    bus('workers').handleInvoke('worker.echo', (p) => p);
    bus('billing').handleInvoke('billing.charge', () => 'charged');
    bus('rogue').handleInvoke('rogue.echo', (p) => p);
    bus('router').handleInvoke('router.ask', () => 'ok');
    await Promise.all([...buses.values()].map((b) => b.transport.flush()));
  });

  after(async () => {
    await Promise.all([...buses.values()].map((b) => b.close()));
    await server?.stop();
  });

  it('invoke and chunked payloads both ways work with one NATS user per agent', async () => {
    assert.deepEqual(await bus('router').invoke('worker.echo', { x: 1 }), { x: 1 });
    // 200 KB over a 64 KiB max_payload: the request is pulled from the router's inbox, the reply from the workers'.
    const big = { text: 'y'.repeat(200_000) };
    assert.deepEqual(await bus('router').invoke('worker.echo', big), big);
  });

  it('a stream runs under flow control (credit on the control subject) and is cancelled', async () => {
    let onAbort!: () => void;
    const aborted = new Promise<void>((r) => (onAbort = r));
    bus('writer').handleStream('writer', async function* (p: { n?: number }, ctx) {
      if (p.n !== undefined) {
        for (let i = 0; i < p.n; i++) yield `t${i}`;
        return 'done';
      }
      ctx.signal.addEventListener('abort', () => onAbort(), { once: true });
      for (let i = 0; ; i++) {
        if (ctx.signal.aborted) return;
        yield `t${i}`;
      }
    });
    await bus('writer').transport.flush();
    // 100 deltas through a window of 4: without credit arriving the responder would stop after 4.
    const got: string[] = [];
    for await (const f of bus('router').stream('writer', { n: 100 }, { timeout: 10_000 }))
      if (f.event_type === 'agent.response.delta') got.push((f.payload as { delta: string }).delta);
    assert.equal(got.length, 100);
    assert.equal(got[99], 't99');
    let seen = 0;
    for await (const f of bus('router').stream('writer', {}, { timeout: 10_000 }))
      if (f.event_type === 'agent.response.delta' && ++seen === 3) break;
    await Promise.race([aborted, new Promise((_, rej) => setTimeout(() => rej(new Error('the writer was never cancelled')), 3000))]);
  });

  it('discovery lists every agent; nobody logged a permission error', async () => {
    const targets = (await new DiscoveryClient(bus('router')).targets()).map((t) => t.target).sort();
    for (const t of ['billing.charge', 'router.ask', 'rogue.echo', 'worker.echo', 'writer'])
      assert.ok(targets.includes(t), `${t} in ${targets}`);
    for (const [id, log] of logs)
      assert.deepEqual(
        log.lines.filter((l) => /permission|refused/i.test(l)),
        [],
        `${id} logged no refusal`,
      );
  });

  it('a call the policy denies, or outside the declared calls, fails at once with AUTH_FAILURE naming the rule', async () => {
    const t0 = Date.now();
    await assert.rejects(bus('router').invoke('billing.charge', {}, { timeout: 10_000 }), (e: unknown) => {
      assert.ok(e instanceof BusError);
      assert.equal(e.code, 'AUTH_FAILURE');
      assert.match(e.message, /acp\.v1\.invoke\.billing\.charge.*invoke policy rule "router-not-billing"/);
      return true;
    });
    assert.ok(Date.now() - t0 < 2000, `refused at once (${Date.now() - t0} ms), not at the deadline`);
    await assert.rejects(bus('rogue').invoke('billing.charge', {}, { timeout: 10_000 }), (e: unknown) => {
      assert.ok(e instanceof BusError && e.code === 'AUTH_FAILURE');
      assert.match(e.message, /agent "rogue" declares calls worker\.\* and nothing else/);
      return true;
    });
    // What each may call still works on the same connection.
    assert.equal(await bus('rogue').invoke('worker.echo', 'hi'), 'hi');
    assert.equal(await bus('router').invoke('worker.echo', 'hi'), 'hi');
  });

  it("the rogue's every attack is refused by the server as a permissions violation", async () => {
    const { nc, refused } = await rogueConnection(server.url, password('rogue'));
    try {
      const body = '{}';
      // Frames onto another agent's inbox (a forged reply), cancel and credit on a responder's control subject.
      const attacks: Array<[string, string]> = [
        ['publish', '_INBOX.router.abc.1'],
        ['publish', '_INBOX.writer.abc.ctl.0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'],
        ['publish', 'acp.v1.cancel.writer'],
        // Task queues, records and the JetStream API of the tasks.
        ['publish', 'acp.tasks.queue.report.build'],
        ['publish', '$KV.acp_tasks.0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'],
        ['publish', 'acp.tasks.cancel'],
        ['publish', '$JS.API.STREAM.DELETE.ACP_TASK_QUEUE'],
        ['publish', '$JS.API.CONSUMER.CREATE.ACP_TASK_QUEUE.tasks_report_build'],
        // Announcing itself as another service.
        ['publish', 'acp.v1.discovery.changed.writer.fake'],
      ];
      for (const [, subject] of attacks) nc.publish(subject, body);
      for (const [op, subject] of attacks) await refused(op, subject);
      // Reading other agents' requests (their reply subjects and ids), control frames, inboxes, and the
      // Services API questions addressed to another service (to answer as it).
      const reads = [
        'acp.v1.invoke.writer',
        'acp.v1.invoke.>',
        'acp.v1.cancel.writer',
        '_INBOX.router.>',
        '_INBOX.>',
        '$SRV.INFO.writer',
        '$SRV.PING.writer.*',
        'acp.tasks.>',
      ];
      const got: string[] = [];
      for (const s of reads)
        nc.subscribe(s, {
          callback: (err) => {
            if (!err) got.push(s);
          },
        });
      for (const s of reads) await refused('subscription', s);
      // And the bus was never fed: a call now still gets its real answer.
      assert.deepEqual(await bus('router').invoke('worker.echo', { after: true }), { after: true });
      assert.deepEqual(got, []);
    } finally {
      await nc.close();
    }
  });
});
