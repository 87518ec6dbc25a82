import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { freePort, NatsServer } from '../support/nats-server.js';

const root = new URL('../../../', import.meta.url).pathname;

/** Starts `node dist/src/main.js` with the given env and resolves once it logs that it is ready. */
function startDemo(env: Record<string, string>): Promise<{ child: ChildProcess; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready: http://')) resolve({ child, log: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`demo (${env.AGENTS}) exited with ${code}:\n${out}`)));
  });
}

describe('demo as separate processes over NATS (README "Across processes")', () => {
  let nats: NatsServer;
  const procs: ChildProcess[] = [];
  let routerPort = 0;

  before(async () => {
    nats = await NatsServer.start();
    routerPort = await freePort();
    const common = { NATS_URL: nats.url, NODE_ENV: 'test' };
    // Workers and writer first, then the router with the HTTP front.
    const started = await Promise.all([
      startDemo({ ...common, AGENTS: 'workers', AGENT_ID: 'workers', PORT: String(await freePort()) }),
      startDemo({ ...common, AGENTS: 'writer', AGENT_ID: 'writer', PORT: String(await freePort()) }),
    ]);
    procs.push(...started.map((s) => s.child));
    procs.push((await startDemo({ ...common, AGENTS: 'router', AGENT_ID: 'router', PORT: String(routerPort) })).child);
  });

  after(async () => {
    for (const p of procs) p.kill('SIGTERM');
    await Promise.all(procs.map((p) => (p.exitCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
    await nats.stop();
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
});
