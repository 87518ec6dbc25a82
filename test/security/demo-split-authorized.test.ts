import assert from 'node:assert/strict';
import { execFile, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { credentialVariable } from '@openagentio/nestjs';
import { startDemo } from '../demo/demo-process.js';
import { openSse } from '../gateway/sse-client.js';
import { freePort, NatsServer } from '../support/nats-server.js';
import { rogueConnection } from './rogue-connection.js';

const root = new URL('../../../', import.meta.url).pathname;
const cli = `${root}libs/bus/dist/cli/openagentio.js`;
const ROLES = ['router', 'workers', 'writer'];
const password = (agent: string) => `pw-${agent}-${process.pid}`;

describe('the demo split over three processes, one NATS user each, with the permissions the CLI generates', () => {
  let nats: NatsServer;
  let conf = '';
  const procs: Array<{ child: ChildProcess; log: () => string }> = [];
  let base = '';
  let dir = '';
  let taskId = '';

  before(async () => {
    // The CLI boots the demo's module once per process (on the memory transport) and prints the server's users;
    // a new agent, the rogue, comes from a file: it serves one target and calls the workers.
    dir = mkdtempSync(join(tmpdir(), 'authz-'));
    writeFileSync(join(dir, 'rogue.json'), JSON.stringify({ agents: [{ agentId: 'rogue', serves: ['rogue.echo'], calls: ['worker.*'] }] }));
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        cli,
        'nats-permissions',
        '--app',
        'dist/src/app.module.js',
        ...ROLES.flatMap((r) => ['--process', `AGENTS=${r} AGENT_ID=${r}`]),
        '--agents',
        join(dir, 'rogue.json'),
        '--format',
        'conf',
      ],
      { cwd: root, timeout: 120_000 },
    );
    conf = stdout;
    nats = await NatsServer.start({
      jetstream: true,
      maxPayload: 64 * 1024,
      authorization: conf,
      env: Object.fromEntries([...ROLES, 'rogue'].map((r) => [credentialVariable(r), password(r)])),
    });
    const common = { NATS_URL: nats.url, NODE_ENV: 'test' };
    const user = (r: string) => ({ ...common, AGENTS: r, AGENT_ID: r, NATS_USER: r, NATS_PASS: password(r) });
    procs.push(...(await Promise.all(['workers', 'writer'].map(async (r) => startDemo({ ...user(r), PORT: String(await freePort()) })))));
    const port = await freePort();
    procs.push(await startDemo({ ...user('router'), PORT: String(port) }));
    base = `http://127.0.0.1:${port}`;
  });

  after(async () => {
    for (const p of procs) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.child.exitCode !== null ? undefined : new Promise((r) => p.child.once('exit', r)))));
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the generated configuration has one user per agent, passwords from the environment, no wildcard inbox', () => {
    for (const r of ROLES) assert.match(conf, new RegExp(`user: "${r}", password: \\$${credentialVariable(r)}`));
    assert.doesNotMatch(conf, /"_INBOX\.>"/);
    assert.match(conf, /"\$JS\.API\.CONSUMER\.MSG\.NEXT\.ACP_TASK_QUEUE\.tasks_report_build"/);
  });

  it('invoke (the router fans out to the workers), a chunked payload, discovery and events work', async () => {
    const ask = await fetch(`${base}/demo/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'authz' },
      body: JSON.stringify({ text: 'NATS is fast. Processes talk.' }),
    });
    assert.equal(ask.status, 200);
    assert.deepEqual(((await ask.json()) as { sessions_seen_by_agents: string[] }).sessions_seen_by_agents, ['authz', 'authz', 'authz']);
    // 165 KB over a 64 KiB max_payload: chunked, the writer pulls the request from the router's inbox.
    const text = 'Long text. '.repeat(15_000);
    const big = await openSse(`${base}/v1/agents/writer/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text, delay_ms: 0 }),
    });
    await big.waitEnd(10_000);
    const final = JSON.parse(big.events.at(-1)!.data) as { event_type: string; payload: { result: string } };
    assert.equal(final.event_type, 'agent.response.final');
    assert.match(final.payload.result, /about "Long text\. Long text\./);
    const agents = (await (await fetch(`${base}/v1/agents`)).json()) as { agents: Array<{ agent_id: string }> };
    assert.deepEqual(agents.agents.map((a) => a.agent_id).sort(), ['router', 'workers', 'writer']);
  });

  it('a stream from the writer flows to the end, and one the client leaves is cancelled in the writer process', async () => {
    const events = await openSse(`${base}/v1/events?pattern=demo.writer.>&named=false`, { headers: { 'x-session-id': 'authz-stream' } });
    assert.equal(events.status, 200);
    const whole = await openSse(`${base}/v1/agents/writer/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'authz-stream' },
      body: JSON.stringify({ text: 'flow', delay_ms: 0 }),
    });
    await whole.waitEnd(10_000);
    assert.equal(whole.events.at(-1)?.event, 'agent.response.final');
    assert.ok(whole.events.filter((e) => e.event === 'agent.response.delta').length > 10);
    const left = await openSse(`${base}/v1/agents/writer/stream`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'authz-stream' },
      body: JSON.stringify({ text: 'cancel me', delay_ms: 300 }),
    });
    await left.waitEvents(2, 10_000);
    left.close();
    const end = Date.now() + 10_000;
    while (!events.events.some((e) => JSON.parse(e.data).event_type === 'demo.writer.stopped')) {
      assert.ok(Date.now() < end, `the writer never said it stopped: ${events.events.map((e) => JSON.parse(e.data).event_type)}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    events.close();
  });

  it('a task on JetStream runs in the workers process, is followed, listed, and another is cancelled', async () => {
    const res = await fetch(`${base}/v1/agents/report.build/tasks`, {
      method: 'POST',
      // With a callback: the worker that ends it publishes agent.task.completed (checked by the last test's logs).
      headers: { 'content-type': 'application/json', 'x-callback': 'event' },
      body: JSON.stringify({ topic: 'permissions', step_ms: 10 }),
    });
    assert.equal(res.status, 202);
    const { id } = (await res.json()) as { id: string };
    taskId = id;
    // Followed to its end over SSE (an ordered consumer of the frames, deleted when the follower leaves).
    const follow = await openSse(`${base}/v1/tasks/${id}/events`);
    assert.equal(follow.status, 200);
    await follow.waitEnd(20_000);
    assert.equal(follow.events.at(-1)?.event, 'agent.task.completed');
    assert.equal(((await (await fetch(`${base}/v1/tasks/${id}`)).json()) as { state: string }).state, 'completed');
    // Listed (the bucket's subject index), and a second one cancelled (record update and the cancel notice).
    const list = (await (await fetch(`${base}/v1/tasks?target=report.build`)).json()) as { tasks: Array<{ id: string }> };
    assert.ok(list.tasks.some((t) => t.id === id));
    const slow = await fetch(`${base}/v1/agents/report.build/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-callback': 'event' },
      body: JSON.stringify({ topic: 'cancel me', step_ms: 2000 }),
    });
    const slowId = ((await slow.json()) as { id: string }).id;
    const cancel = await fetch(`${base}/v1/tasks/${slowId}`, { method: 'DELETE' });
    assert.equal(cancel.status, 200, await cancel.clone().text());
    const end = Date.now() + 20_000;
    let state = '';
    while (state !== 'canceled') {
      assert.ok(Date.now() < end, `cancelled task still ${state}`);
      state = ((await (await fetch(`${base}/v1/tasks/${slowId}`)).json()) as { state: string }).state;
      if (state !== 'canceled') await new Promise((r) => setTimeout(r, 50));
    }
  });

  it("the rogue (a new agent's permissions) is refused by the server on every attack against the demo", async () => {
    assert.ok(taskId, 'the task test ran');
    const { nc, refused } = await rogueConnection(nats.url, password('rogue'));
    try {
      const attacks = [
        // a final frame onto the router's inbox, a cancel onto the writer's control subjects
        '_INBOX.router.x.1',
        '_INBOX.writer.x.ctl.0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b',
        'acp.v1.cancel.writer',
        // the real task: rewrite its record, queue it again, wake its worker, take over or purge the queue
        `$KV.acp_tasks.${taskId}`,
        'acp.tasks.queue.report.build',
        'acp.tasks.cancel',
        '$JS.API.CONSUMER.CREATE.ACP_TASK_QUEUE.tasks_report_build',
        '$JS.API.STREAM.PURGE.ACP_TASK_QUEUE',
        // announce itself as the writer
        'acp.v1.discovery.changed.writer.fake',
        // drain the workers, read every process's recent spans: the console's alone
        '$SRV.DRAIN.workers.0190a1b2c3d47e5f8a9b0c1d2e3f4a5b',
        '$SRV.SPANS',
      ];
      for (const subject of attacks) nc.publish(subject, JSON.stringify({ state: 'failed' }), { reply: '_INBOX.rogue.r' });
      for (const subject of attacks) await refused('publish', subject);
      // read the writer's and workers' requests and cancels, the router's replies, the questions to other services
      const reads = [
        'acp.v1.invoke.writer',
        'acp.v1.invoke.worker.>',
        'acp.v1.cancel.writer',
        '_INBOX.router.>',
        '$SRV.INFO.writer',
        '$SRV.PING.workers.*',
        'acp.tasks.frames.*',
      ];
      for (const s of reads) nc.subscribe(s, { callback: () => undefined });
      for (const s of reads) await refused('subscription', s);
    } finally {
      await nc.close();
    }
    const rec = (await (await fetch(`${base}/v1/tasks/${taskId}`)).json()) as { state: string };
    assert.equal(rec.state, 'completed', 'the record is untouched');
  });

  it('no process met a permission violation, and none says it runs on an open account', () => {
    for (const p of procs) {
      assert.doesNotMatch(p.log(), /permission denied|Permissions Violation|refused/i);
      assert.doesNotMatch(p.log(), /open account/);
    }
  });
});
