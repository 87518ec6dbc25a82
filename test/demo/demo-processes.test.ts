import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPORT_SECTIONS, reportSection, reportTitle } from '../../src/agents/report.agent.js';
import { openSse } from '../gateway/sse-client.js';
import { startDemo } from './demo-process.js';
import { freePort, NatsServer } from '../support/nats-server.js';

/**
 * How long a lost worker's task run waits before another worker takes it (TASKS_ACK_WAIT_MS; the default is 30 s).
 * Short, so the test is quick, but not so short that a worker starved of CPU on a busy machine misses its signs of
 * life (a third of it) and loses a live run to a third attempt: at 1.5 s that happened in CI beside other work.
 */
const ACK_WAIT_MS = 4000;

describe('demo as separate processes over NATS (README "Across processes")', () => {
  let nats: NatsServer;
  let jsDir: string;
  const procs: ChildProcess[] = [];
  let routerPort = 0;
  let common: Record<string, string>;
  let workers: ChildProcess;
  const startWorkers = async () => startDemo({ ...common, AGENTS: 'workers', AGENT_ID: 'workers', PORT: String(await freePort()) });

  before(async () => {
    // With NATS_URL the demo keeps its tasks on JetStream (src/app.module.ts, tasksOptions): the server needs it.
    jsDir = mkdtempSync(join(tmpdir(), 'demo-js-'));
    nats = await NatsServer.start({ extraConfig: `jetstream { store_dir: ${JSON.stringify(jsDir)} }` });
    routerPort = await freePort();
    common = { NATS_URL: nats.url, NODE_ENV: 'test', TASKS_ACK_WAIT_MS: String(ACK_WAIT_MS) };
    // Workers and writer first, then the router with the HTTP front.
    const started = await Promise.all([
      startWorkers(),
      startDemo({ ...common, AGENTS: 'writer', AGENT_ID: 'writer', PORT: String(await freePort()) }),
    ]);
    workers = started[0].child;
    procs.push(...started.map((s) => s.child));
    procs.push((await startDemo({ ...common, AGENTS: 'router', AGENT_ID: 'router', PORT: String(routerPort) })).child);
  });

  after(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
    await nats.stop();
    rmSync(jsDir, { recursive: true, force: true });
  });

  it('the router process calls workers and the writer in two other processes, under one session', async () => {
    const res = await fetch(`http://127.0.0.1:${routerPort}/demo/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'across' },
      body: JSON.stringify({ text: 'NATS is fast. Processes talk.' }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, unknown>;
    assert.deepEqual(body.sessions_seen_by_agents, ['across', 'across', 'across']);
    assert.match(body.answer as string, /in session across\.$/);
    const health = (await (await fetch(`http://127.0.0.1:${routerPort}/demo/health`)).json()) as { transport: string; targets: string[] };
    assert.equal(health.transport, 'nats');
    // Besides the agents and MCP tools, the gateway serves its detached streams to other replicas on internal
    // gateway.peer.* targets, which the listing leaves out.
    assert.deepEqual(
      health.targets.filter((t) => !t.startsWith('mcp.')),
      ['router.ask'],
      'this process serves only the router; the rest is remote',
    );
  });

  it('GET /v1/agents on the router lists the agents of every process, found by discovery (docs/discovery.md)', async () => {
    const res = await fetch(`http://127.0.0.1:${routerPort}/v1/agents`);
    assert.equal(res.status, 200);
    const { agents } = (await res.json()) as { agents: Array<{ agent_id: string; instances: string[]; targets: Array<{ name: string }> }> };
    const byAgent = new Map(agents.map((a) => [a.agent_id, a]));
    assert.deepEqual(
      byAgent
        .get('workers')
        ?.targets.map((t) => t.name)
        .sort(),
      ['worker.keywords', 'worker.sentiment', 'worker.summarize'],
      'the invoke targets the gateway exposes (report.build, which the workers also serve as an invoke, is only a task target)',
    );
    assert.deepEqual(
      byAgent.get('writer')?.targets.map((t) => t.name),
      ['writer'],
    );
    assert.equal(byAgent.get('workers')?.instances.length, 1, 'one process, one instance');
    assert.ok(
      byAgent.get('router')?.targets.some((t) => t.name === 'router.ask'),
      'and the router itself',
    );
  });

  it('the report task survives its worker: SIGKILL mid-task, a new workers process finishes it as attempt 2, one SSE follower throughout', async () => {
    const base = `http://127.0.0.1:${routerPort}`;
    const res = await fetch(`${base}/v1/agents/report.build/tasks`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': 'report-across' },
      body: JSON.stringify({ topic: 'restarts', step_ms: 400 }),
    });
    assert.equal(res.status, 202);
    const task = (await res.json()) as { id: string; state: string; session_id?: string };
    assert.equal(task.state, 'submitted');
    assert.equal(task.session_id, 'report-across');

    // One follower on the router's gateway for the whole test: the router process is never restarted.
    const sse = await openSse(`${base}/v1/tasks/${task.id}/events`);
    assert.equal(sse.status, 200);
    type Frame = { id: number; event_type: string; payload: any };
    const frames = (): Frame[] => sse.events.map((e) => ({ id: Number(e.id), ...(JSON.parse(e.data) as Omit<Frame, 'id'>) }));
    const waitFor = async (what: string, ok: (f: Frame[]) => boolean, timeoutMs: number) => {
      const end = Date.now() + timeoutMs;
      while (!ok(frames())) {
        if (sse.ended && !ok(frames()))
          throw new Error(`the stream ended before ${what}: ${JSON.stringify(frames().map((f) => f.event_type))}`);
        if (Date.now() > end)
          throw new Error(`no ${what} after ${timeoutMs} ms: ${JSON.stringify(frames().map((f) => [f.event_type, f.payload]))}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };

    // Attempt 1 is writing (its second section is in the artifact): kill the workers process, no goodbye.
    await waitFor(
      'a second section from attempt 1',
      (f) => f.some((x) => x.event_type === 'agent.task.artifact' && /## Latency/.test(x.payload.artifact.data)),
      10_000,
    );
    const killedPid = workers.pid!;
    const exited = new Promise((r) => workers.once('exit', r));
    workers.kill('SIGKILL');
    await exited;
    const atKill = frames().length;
    assert.ok(!frames().some((f) => f.event_type === 'agent.task.completed'), 'not ended at the kill');
    const rec = (await (await fetch(`${base}/v1/tasks/${task.id}`)).json()) as { state: string; attempts: number };
    assert.deepEqual([rec.state, rec.attempts], ['working', 1], 'the record still says attempt 1 is working');

    // A new workers process (as a supervisor would start it): after the ack wait the run is delivered to it.
    const again = await startWorkers();
    workers = again.child;
    procs.push(workers);
    await waitFor('the completed frame', (f) => f.some((x) => x.event_type === 'agent.task.completed'), 30_000);
    await sse.waitEnd(5000);

    const all = frames();
    assert.ok(all.length > atKill, 'the same follower got the frames after the restart');
    assert.deepEqual(
      all.map((f) => f.id),
      all.map((_, i) => i),
      'every seq once, in order, across the restart',
    );
    const runs = all.filter((f) => f.event_type === 'agent.task.status' && f.payload.attempt);
    assert.deepEqual(
      runs.map((f) => f.payload.attempt),
      [1, 2],
      'attempt 1 on the killed worker, attempt 2 on the new one',
    );
    const last = all.at(-1)!;
    assert.equal(last.event_type, 'agent.task.completed');
    assert.equal(last.payload.state, 'completed');
    assert.equal(last.payload.result.attempt, 2);
    assert.equal(last.payload.result.pid, workers.pid);
    assert.notEqual(last.payload.result.pid, killedPid);
    // Attempt 2 starts the artifact again (a chunk without append), then appends every section.
    const restart = all.findIndex((f) => f === runs[1]);
    const chunks = all.slice(restart).filter((f) => f.event_type === 'agent.task.artifact');
    assert.equal(chunks[0].payload.artifact.append, undefined);
    assert.equal(chunks.length, REPORT_SECTIONS.length + 1);

    const done = (await (await fetch(`${base}/v1/tasks/${task.id}`)).json()) as {
      state: string;
      attempts: number;
      seq: number;
      artifacts: Array<{ data: string }>;
    };
    assert.equal(done.state, 'completed');
    assert.equal(done.attempts, 2);
    assert.equal(done.seq, last.id);
    assert.equal(
      done.artifacts[0].data,
      reportTitle('restarts', `workers (pid ${workers.pid}), attempt 2`) + REPORT_SECTIONS.map(([t, x]) => reportSection(t, x)).join(''),
      'the whole report, written by the new process',
    );
    // The follower from any seq: a late one gets 204 after the end.
    const late = await fetch(`${base}/v1/tasks/${task.id}/events`, { headers: { 'last-event-id': String(last.id) } });
    assert.equal(late.status, 204);
  });
});
