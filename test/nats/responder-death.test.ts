import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { connect } from '@nats-io/transport-node';
import { BusClient, BusError, createReply, decodeEnvelope, encodeEnvelope, NatsTransport } from '@openagentio/nestjs';
import { NatsServer } from '../support/nats-server.js';
import { quietLogger } from './helpers.js';

/** livenessInterval of both sides here (the default is 5 000). */
const N = 400;
/** How late a dead responder may be noticed: 3N of silence, plus up to one interval until the caller's next check. */
const WINDOW = 4 * N;
/** Scheduling slack on a shared 2-core machine. */
const MARGIN = 1_000;
const TIMEOUT = 30_000;

/** A responder in its own process (fixtures/doomed-responder-process.ts), with a promise of its next `STARTED`. */
async function startResponder(url: string): Promise<{ child: ChildProcess; started: () => Promise<void> }> {
  const child = spawn(process.execPath, [new URL('./fixtures/doomed-responder-process.js', import.meta.url).pathname, url, String(N)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const waiting: Array<() => void> = [];
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`responder exited (${code}) before READY`)));
    lines.on('line', (l) => {
      if (l === 'READY') resolve();
      if (l === 'STARTED') waiting.shift()?.();
    });
  });
  await ready;
  return { child, started: () => new Promise<void>((resolve) => waiting.push(resolve)) };
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('a responder process SIGKILLed mid-call: the caller notices through liveness, not its timeout', () => {
  let server: NatsServer;
  let caller: BusClient;
  const children: ChildProcess[] = [];

  before(async () => {
    server = await NatsServer.start();
    caller = new BusClient(new NatsTransport({ servers: server.url, logger: quietLogger }), {
      agentId: 'caller',
      logger: quietLogger,
      livenessInterval: N,
    });
    await caller.connect();
  });

  after(async () => {
    for (const c of children) await kill(c);
    await caller?.close();
    await server?.stop();
  });

  async function expectGone(call: Promise<unknown>, killedAt: number, what: RegExp): Promise<number> {
    const err = await call.then(
      () => assert.fail('the call must not succeed'),
      (e: unknown) => e,
    );
    const took = Date.now() - killedAt;
    assert.ok(err instanceof BusError, String(err));
    assert.equal(err.code, 'AGENT_UNAVAILABLE');
    assert.equal(err.retryable, true);
    assert.match(err.message, what);
    assert.ok(took < WINDOW + MARGIN, `noticed ${took} ms after the kill; the window is ${WINDOW} ms, the timeout ${TIMEOUT} ms`);
    return took;
  }

  it(
    'an invoke whose responder dies before its first probe ends retryable AGENT_UNAVAILABLE within the window',
    { timeout: 20_000 },
    async () => {
      const r = await startResponder(server.url);
      children.push(r.child);
      // Any earlier reply of the target tells the caller its responders probe (acp.liveness), as callers of a
      // target usually have one.
      assert.equal(await caller.invoke('doomed.work', {}), 'ok');
      const started = r.started();
      const call = caller.invoke('doomed.work', { hang: true }, { timeout: TIMEOUT });
      call.catch(() => undefined);
      await started;
      // At once: well before the responder's first probe (one interval in) could reach the caller.
      const killedAt = Date.now();
      await kill(r.child);
      await expectGone(call, killedAt, /doomed\.work.*responder went silent/);
    },
  );

  it('a stream whose responder dies ends in the same window', { timeout: 20_000 }, async () => {
    const r = await startResponder(server.url);
    children.push(r.child);
    const started = r.started();
    const frames: string[] = [];
    const read = (async () => {
      for await (const f of caller.stream('doomed.feed', {}, { timeout: TIMEOUT })) frames.push(f.event_type);
    })();
    read.catch(() => undefined);
    await started;
    const killedAt = Date.now();
    await kill(r.child);
    await expectGone(read, killedAt, /doomed\.feed.*responder went silent/);
    assert.deepEqual(frames, ['agent.response.started', 'agent.response.delta']);
  });
  it('an upstream-style responder that never probes has one long invoke cut at most, then is waited for', { timeout: 20_000 }, async () => {
    // One of ours serves the target first and says it probes...
    const ours = new BusClient(new NatsTransport({ servers: server.url, logger: quietLogger }), {
      agentId: 'ours',
      logger: quietLogger,
      livenessInterval: N,
    });
    await ours.connect();
    await ours.handleInvoke('mixed.work', () => 'ours').ready;
    assert.equal(await caller.invoke('mixed.work', {}), 'ours');
    await ours.close();
    // ...then a replica that sends no probes (as the upstream runtimes) answers, after 5N, which is longer than
    // the 3N a watch from the start allows.
    const upstream = await connect({ servers: server.url });
    try {
      upstream.subscribe('acp.v1.invoke.mixed.work', {
        queue: 'mixed.work',
        callback: (_err, msg) => {
          const request = decodeEnvelope(msg.data);
          const reply = createReply(request, 'agent.response.final', { result: 'upstream' }, { from: 'upstream', isFinal: true });
          setTimeout(() => upstream.publish(request.reply_to ?? msg.reply!, encodeEnvelope(reply)), 5 * N);
        },
      });
      await upstream.flush();
      await assert.rejects(caller.invoke('mixed.work', {}, { timeout: TIMEOUT }), (e: BusError) => e.code === 'AGENT_UNAVAILABLE');
      // The caller forgot what it had learned: the next one waits for the answer.
      assert.equal(await caller.invoke('mixed.work', {}, { timeout: TIMEOUT }), 'upstream');
      assert.equal(await caller.invoke('mixed.work', {}, { timeout: TIMEOUT }), 'upstream');
    } finally {
      await upstream.close();
    }
  });
});
