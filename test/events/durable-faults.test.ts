import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { BusClient, type Envelope, NatsTransport } from '@openagentio/nestjs';
import { deferred, RecordingLogger, until } from '../support/bus-fixture.js';
import { heapAfterGc } from '../support/heap.js';
import { NatsServer } from '../support/nats-server.js';

/** 100 000 by default; DURABLE_MANY sets another count. */
const MANY = Number(process.env.DURABLE_MANY ?? 100_000);

// Faults of durable events on a real nats-server with JetStream (a store directory of its own).
describe('durable events: faults on a real nats-server', () => {
  let server: NatsServer;
  const buses: BusClient[] = [];

  async function bus(agentId: string): Promise<BusClient> {
    const b = new BusClient(new NatsTransport({ servers: server.url, reconnectTimeWait: 100, timeout: 2000 }), {
      agentId,
      logger: new RecordingLogger(),
    });
    await b.connect();
    buses.push(b);
    return b;
  }

  before(async () => {
    server = await NatsServer.start({ jetstream: true });
  });
  after(async () => {
    for (const b of buses) await b.close().catch(() => undefined);
    await server.stop();
  });

  it('a subscriber process killed mid-handler: the event is handled again by a replica', async () => {
    const ackWaitMs = 1000;
    const child = spawn(
      process.execPath,
      [new URL('./fixtures/durable-subscriber-process.js', import.meta.url).pathname, server.url, 'df-killed', String(ackWaitMs)],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(child, 'exit');
    try {
      const lines = createInterface({ input: child.stdout! });
      const started = new Promise<string>((resolve) => lines.on('line', (l) => l.startsWith('STARTED') && resolve(l.split(' ')[1])));
      await new Promise<void>((resolve) => lines.on('line', (l) => l === 'READY' && resolve()));
      const pub = await bus('df-pub');
      const sent = await pub.publish('df.killed', { job: 1 }, { durable: true });
      assert.equal(await started, sent.event_id, 'the doomed process took the event');
      // The replica joins while the doomed one holds the event: it must not get it until the holder is gone.
      const replica = await bus('df-replica');
      const handled = deferred<Envelope>();
      await replica.subscribe('df.killed', (_p, e) => handled.resolve(e), { durable: 'df-killed', ackWaitMs }).ready;
      child.kill('SIGKILL');
      await exited;
      const killedAt = Date.now();
      const e = await handled.promise;
      assert.equal(e.event_id, sent.event_id);
      assert.ok(Date.now() - killedAt <= ackWaitMs + 2000, 'redelivered within about one ack wait');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('nats-server restarted during a publish burst: every acknowledged event is handled', async () => {
    const pub = await bus('df-burst-pub');
    const sub = await bus('df-burst-sub');
    const handled = new Set<string>();
    await sub.subscribe('df.burst', (_p, e) => void handled.add(e.event_id), { durable: 'df-burst', concurrency: 16 }).ready;
    const acked: string[] = [];
    let failed = 0;
    const total = 600;
    let restarted: Promise<void> | undefined;
    // Eight publishers in parallel; the server is killed and started again on the same store once 150 are acked.
    await Promise.all(
      Array.from({ length: 8 }, async (_x, w) => {
        for (let i = w; i < total; i += 8) {
          try {
            acked.push((await pub.publish('df.burst', { i }, { durable: true })).event_id);
          } catch {
            failed++;
          }
          if (acked.length >= 150 && !restarted) restarted = server.restart();
        }
      }),
    );
    await restarted;
    assert.ok(acked.length >= total - 10, `nearly every publish was acknowledged after retries: ${acked.length} acked, ${failed} failed`);
    await until(() => acked.every((id) => handled.has(id)), 30_000, `every acknowledged event handled (${handled.size}/${acked.length})`);
  });

  it('a consumer down for a while catches up with everything published meanwhile', async () => {
    const pub = await bus('df-down-pub');
    const first = await bus('df-down-sub-1');
    const got: number[] = [];
    const s1 = first.subscribe('df.down', (p: number) => void got.push(p), { durable: 'df-down', concurrency: 8 });
    await s1.ready;
    await pub.publish('df.down', -1, { durable: true });
    await until(() => got.length === 1);
    // Down: its process gone (the bus closed) while 5 s of events are published, 1 000 of them.
    await first.close();
    const downFor = Date.now();
    for (let i = 0; i < 1000; i++) {
      await pub.publish('df.down', i, { durable: true });
      if (i % 200 === 199) await new Promise((r) => setTimeout(r, Math.max(0, 1000 - ((Date.now() - downFor) % 1000))));
    }
    assert.ok(Date.now() - downFor >= 4000, 'down for several seconds');
    const back = await bus('df-down-sub-2');
    await back.subscribe('df.down', (p: number) => void got.push(p), { durable: 'df-down', concurrency: 8 }).ready;
    await until(() => got.length === 1001, 20_000, `caught up (${got.length}/1001)`);
    assert.deepEqual(
      got.slice(1).sort((a, b) => a - b),
      Array.from({ length: 1000 }, (_x, i) => i),
    );
  });

  it('a poison event goes to dead letters after its attempts without holding back the events behind it', async () => {
    const pub = await bus('df-poison-pub');
    const sub = await bus('df-poison-sub');
    const done: number[] = [];
    let doneAtDeadLetter = -1;
    const dead = deferred<Envelope>();
    const dlq = sub.transport.subscribe(sub.subjects.deadLetter('df.poison'), (m) => {
      doneAtDeadLetter = done.length;
      if (m.envelope) dead.resolve(m.envelope);
    });
    await sub.transport.flush();
    let tries = 0;
    await sub.subscribe(
      'df.poison',
      (p: number) => {
        if (p === 0) {
          tries++;
          throw new Error('cannot parse order');
        }
        done.push(p);
      },
      { durable: 'df-poison', retry: { attempts: 4, initialDelay: 300, maxDelay: 300, factor: 1 } },
    ).ready;
    const poison = await pub.publish('df.poison', 0, { durable: true });
    for (let i = 1; i <= 50; i++) await pub.publish('df.poison', i, { durable: true });
    const d = await dead.promise;
    dlq.unsubscribe();
    assert.equal(d.event_id, poison.event_id);
    assert.equal(d.metadata?.dlq_attempts, 4);
    assert.equal(d.metadata?.dlq_error_message, 'cannot parse order');
    assert.equal(tries, 4);
    assert.equal(doneAtDeadLetter, 50, 'the 50 events behind it were handled while it waited for its retries');
  });

  it("an operator's stream is adopted as it is; plain NATS subscribers and publishers see and feed the same events", async () => {
    const { connect } = await import('@nats-io/transport-node');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const nc = await connect({ servers: server.url });
    try {
      const jsm = await jetstreamManager(nc);
      // The operator's stream of the shop tenant's events, with a limit of its own.
      await jsm.streams.add({ name: 'OPS_ORDERS', subjects: ['acp.v1.shop.events.>'], max_msgs: 1000 });
      const shop = new BusClient(new NatsTransport({ servers: server.url }), {
        agentId: 'shop',
        tenant: 'shop',
        logger: new RecordingLogger(),
      });
      await shop.connect();
      buses.push(shop);
      // A plain subscriber (an upstream runtime's view): the durable publish is an ordinary message with the envelope.
      const plain: Envelope[] = [];
      nc.subscribe('acp.v1.shop.events.order.created', { callback: (_e, m) => void plain.push(m.json<Envelope>()) });
      await nc.flush();
      const got: Envelope[] = [];
      await shop.subscribe('order.created', (_p, e) => void got.push(e), { durable: 'shop-billing' }).ready;
      const sent = await shop.publish('order.created', { id: 1 }, { durable: true });
      // A plain publisher's event, not through the bus: captured by the stream, handled by the durable consumer.
      const upstream = { ...sent, event_id: '01a24f30-56bd-76af-9c34-353dfbad6377', payload: { id: 2 } };
      nc.publish('acp.v1.shop.events.order.created', JSON.stringify(upstream));
      await until(() => got.length === 2 && plain.length === 2);
      assert.deepEqual(
        got.map((e) => e.payload),
        [{ id: 1 }, { id: 2 }],
      );
      assert.equal(plain[0].event_id, sent.event_id);
      const info = await jsm.streams.info('OPS_ORDERS');
      assert.equal(info.state.messages, 2, 'both stored in the operator stream');
      assert.equal(info.config.max_msgs, 1000, 'its limits kept');
      await assert.rejects(jsm.streams.info('ACP_EVENTS_shop'), /not found/, 'no stream of its own made');
    } finally {
      await nc.close();
    }
  });

  it(`${MANY} events to a slow consumer: memory stays bounded on both sides`, { timeout: 300_000 }, async () => {
    const pub = await bus('df-many-pub');
    const sub = await bus('df-many-sub');
    const base = heapAfterGc();
    let peak = 0;
    let handled = 0;
    const payload = { order: 'x'.repeat(200) };
    const sample = () => (peak = Math.max(peak, heapAfterGc() - base));
    await sub.subscribe(
      'df.many',
      async () => {
        // Slower than the publisher: the backlog waits in the stream, not in either process.
        await new Promise((r) => setImmediate(r));
        handled++;
      },
      { durable: 'df-many', concurrency: 32 },
    ).ready;
    const started = Date.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 32 }, async () => {
        while (next < MANY) {
          next++;
          await pub.publish('df.many', payload, { durable: true });
          if (next % 10_000 === 0) sample();
        }
      }),
    );
    const published = Date.now();
    const backlog = MANY - handled;
    await until(
      () => {
        if (handled % 10_000 === 0) sample();
        return handled >= MANY;
      },
      240_000,
      `every event handled (${handled}/${MANY})`,
    );
    sample();
    const took = Date.now() - started;
    console.log(
      `# ${MANY} events: published in ${published - started} ms, backlog ${backlog} at the end of publishing, all handled in ${took} ms; peak heap growth ${(peak / 1048576).toFixed(1)} MiB`,
    );
    assert.ok(backlog > 0, 'the consumer was slower than the publisher');
    assert.ok(peak < 40 * 1024 * 1024, `heap grew ${(peak / 1048576).toFixed(1)} MiB`);
  });
});
