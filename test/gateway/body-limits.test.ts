import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { TaskRecord } from '@openagentio/nestjs';
import { ACME, http, taskGateway, type TaskGateway } from '../tasks/gateway-task-app.js';

const KiB = 1024;
const MiB = 1024 * KiB;

describe("gateway body limits: the documented bodyLimit applies, not Express's 100 KB, and JSON values are values", () => {
  let gw: TaskGateway;
  let echoed = 0;

  before(async () => {
    gw = await taskGateway({ invokeTargets: ['echo.size'], errorPayloadPaths: ['/demo/'] });
    gw.bus.handleInvoke('echo.size', (p: { pad?: string }) => {
      echoed++;
      return p?.pad?.length ?? 0;
    });
  });
  after(() => gw.close());

  it('a 101 KiB body reaches the target under the default 1 MiB limit', async () => {
    const pad = 'x'.repeat(101 * KiB);
    const r = await http(`${gw.url}/v1/agents/echo.size/invoke`, { token: ACME, body: { pad } });
    assert.equal(r.status, 200, JSON.stringify(r.body).slice(0, 300));
    assert.deepEqual(r.body, { result: pad.length });
  });

  it('over 1 MiB: 413 naming the gateway limit and how to raise it; the target never runs', async () => {
    const before = echoed;
    const r = await http(`${gw.url}/v1/agents/echo.size/invoke`, { token: ACME, body: { pad: 'x'.repeat(MiB) } });
    assert.equal(r.status, 413);
    assert.equal(r.body.code, 'INVALID_REQUEST');
    assert.match(r.body.message, /bodyLimit of 1048576 bytes \(1 MiB\)/);
    assert.match(r.body.message, /GatewayModule\.forRoot\(\{ bodyLimit \}\)/);
    assert.equal(echoed, before);
  });

  it('a chunked body over the limit (no Content-Length) is cut off with the same 413', async () => {
    const big = 'x'.repeat(MiB + 10);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`{"pad":"${big.slice(0, MiB / 2)}`));
        c.enqueue(new TextEncoder().encode(`${big.slice(MiB / 2)}"}`));
        c.close();
      },
    });
    const res = await fetch(`${gw.url}/v1/agents/echo.size/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${ACME}` },
      body,
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.match(((await res.json()) as { message: string }).message, /bodyLimit of 1048576 bytes/);
  });

  it('"Q3", a JSON string, is accepted as a task\'s input and as a message to it; never "not valid JSON"', async () => {
    const created = await http(`${gw.url}/v1/agents/ask.quarter/tasks`, { token: ACME, body: '"Q3"' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const done = await waitState(gw.url, created.body.id, 'completed');
    assert.equal(done.result, 'report for Q3');

    const paused = (await http(`${gw.url}/v1/agents/ask.quarter/tasks`, { token: ACME, body: {} })).body as TaskRecord;
    await waitState(gw.url, paused.id, 'input-required');
    const sent = await http(`${gw.url}/v1/tasks/${paused.id}/messages`, { token: ACME, body: '"Q3"' });
    assert.equal(sent.status, 202, JSON.stringify(sent.body));
    assert.equal((await waitState(gw.url, paused.id, 'completed')).result, 'report for Q3');

    const bad = await http(`${gw.url}/v1/tasks/${paused.id}/messages`, { token: ACME, body: 'Q3' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /not valid JSON/);
  });

  it("a body over the application parser's limit on an errorPayloadPaths route names that limit and how to raise it", async () => {
    const r = await http(`${gw.url}/demo/anything`, { body: { pad: 'x'.repeat(200 * KiB) } });
    assert.equal(r.status, 413);
    assert.equal(r.body.code, 'INVALID_REQUEST');
    assert.match(r.body.message, /application body parser's limit of 102400 bytes/);
    assert.match(r.body.message, /app\.useBodyParser\('json'/);
  });
});

async function waitState(url: string, id: string, state: string): Promise<TaskRecord> {
  let last: TaskRecord | undefined;
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    last = (await http(`${url}/v1/tasks/${id}`, { token: ACME })).body as TaskRecord;
    if (last.state === state) return last;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`task ${id} is ${last?.state}, not ${state}`);
}
