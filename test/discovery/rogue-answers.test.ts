import 'reflect-metadata';
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import type { INestApplication } from '@nestjs/common';
import { connect, type Msg, type NatsConnection } from '@nats-io/transport-node';
import { BusClient, DiscoveryClient, NatsTransport, type BusLogger } from '@openagentio/nestjs';
import type { GatewayAgentListing } from '@openagentio/nestjs-gateway/internal/agent-directory.service.js';
import { gatewayApp } from '../gateway/gateway-app.js';
import { NatsServer } from '../support/nats-server.js';

/** A well-formed INFO of a service that is not ours (no acp.* metadata), the base the forged answers break. */
function info(id: string): Record<string, unknown> {
  return { type: 'io.nats.micro.v1.info_response', name: 'rogue', id, version: '1.0.0', description: '', metadata: {}, endpoints: [] };
}

const endpoint = (meta: Record<string, unknown>): Record<string, unknown> => ({
  name: 'x',
  subject: 'acp.v1.invoke.x',
  queue_group: 'x',
  metadata: { 'acp.target': 'x', 'acp.kind': 'invoke', ...meta },
});

/** The answers that made targets() throw a TypeError for every caller, and others as bad. */
const FORGED_INFOS: unknown[] = [
  { ...info('endpoints-number'), endpoints: 5 },
  { ...info('tags-number'), endpoints: [endpoint({ 'acp.tags': 5 })] },
  { ...info('null-endpoint'), endpoints: [null] },
  { ...info('agent-id-number'), metadata: { 'acp.agent_id': 5 } },
  { ...info('no-subject'), endpoints: [{ name: 'x', metadata: {} }] },
  5,
  null,
];
const FORGED_IDS = ['endpoints-number', 'tags-number', 'null-endpoint', 'agent-id-number', 'no-subject', '(none)'];

/** A logger that keeps the warnings. */
function recordingLogger(): BusLogger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, log: () => undefined, warn: (m) => warnings.push(m), error: () => undefined };
}

/**
 * A hostile peer on a raw connection answering every Services API question: with forged answers, or (flooding)
 * with a well-formed INFO of a new instance every `every` ms for as long as the test lets it.
 */
class Rogue {
  mode: 'forged' | 'flood' | 'sparse' | 'quiet' = 'quiet';
  every = 150;
  private readonly floods = new Set<NodeJS.Timeout>();
  private count = 0;

  private constructor(readonly nc: NatsConnection) {}

  static async start(url: string): Promise<Rogue> {
    const rogue = new Rogue(await connect({ servers: url }));
    rogue.nc.subscribe('$SRV.>', { callback: (_err, msg) => rogue.answer(msg) });
    await rogue.nc.flush();
    return rogue;
  }

  stopFloods(): void {
    for (const t of this.floods) clearInterval(t);
    this.floods.clear();
  }

  async close(): Promise<void> {
    this.stopFloods();
    await this.nc.close();
  }

  private answer(msg: Msg): void {
    if (!msg.reply) return;
    const reply = msg.reply;
    const verb = msg.subject.split('.')[1];
    if (this.mode === 'forged') {
      const answers =
        verb === 'INFO'
          ? FORGED_INFOS
          : [
              {
                type: `io.nats.micro.v1.${verb.toLowerCase()}_response`,
                name: 'rogue',
                id: 'bad-metadata',
                version: '1.0.0',
                metadata: { a: 1 },
              },
            ];
      for (const a of answers) this.nc.publish(reply, JSON.stringify(a));
      this.nc.publish(reply, 'not json');
    } else if (this.mode === 'sparse' && verb === 'INFO') {
      // What a Go service sends for empty maps and slices, and an endpoint without a queue group (ADR-32 allows it).
      this.nc.publish(reply, JSON.stringify({ ...info('go-style'), metadata: null, description: null, endpoints: null }));
      const ep = { name: 'x', subject: 'other.x', metadata: null };
      this.nc.publish(reply, JSON.stringify({ ...info('no-queue'), description: undefined, endpoints: [ep] }));
    } else if (this.mode === 'flood' && verb === 'INFO') {
      const t = setInterval(() => this.nc.publish(reply, JSON.stringify(info(`flood-${++this.count}`))), this.every);
      this.floods.add(t);
    }
  }
}

describe('discovery trusts no answer: a rogue answering the Services API', () => {
  let server: NatsServer;
  let rogue: Rogue;
  let worker: BusClient;
  let caller: BusClient;
  const logger = recordingLogger();

  before(async () => {
    server = await NatsServer.start();
    rogue = await Rogue.start(server.url);
    worker = new BusClient(new NatsTransport({ servers: server.url }), { agentId: 'lab.worker', logger: recordingLogger() });
    await worker.connect();
    await worker.handleInvoke('lab.add', ({ a, b }: { a: number; b: number }) => a + b, { tags: ['math'] }).ready;
    caller = new BusClient(new NatsTransport({ servers: server.url }), { agentId: 'lab.caller', logger, discovery: false });
    await caller.connect();
  });

  afterEach(() => {
    rogue.mode = 'quiet';
    rogue.stopFloods();
  });

  after(async () => {
    await rogue?.close();
    await caller?.close();
    await worker?.close();
    await server?.stop();
  });

  it('targets(), list(), ping() and stats() skip forged answers and log each rogue instance once', async () => {
    rogue.mode = 'forged';
    const discovery = new DiscoveryClient(caller, { gap: 150 });
    for (let round = 0; round < 2; round++) {
      const targets = await discovery.targets();
      assert.deepEqual(
        targets.map((t) => [t.target, t.tags, t.instances]),
        [['lab.add', ['math'], [worker.service!.id]]],
      );
      assert.deepEqual(
        (await discovery.list()).map((a) => a.agentId),
        ['lab.worker'],
      );
    }
    assert.deepEqual(
      (await discovery.ping()).map((p) => p.id),
      [worker.service!.id],
    );
    assert.deepEqual(
      (await discovery.stats()).map((p) => p.id),
      [worker.service!.id],
    );
    const infoWarnings = logger.warnings.filter((w) => w.includes('malformed INFO'));
    assert.deepEqual(
      infoWarnings.map((w) => /service id "([^"]*)"/.exec(w)?.[1]).sort(),
      [...FORGED_IDS].sort(),
      'one line per rogue id, however many times it answers',
    );
    // PING and STATS come from the same rogue id: logged once for both.
    assert.equal(logger.warnings.filter((w) => w.includes('"bad-metadata"')).length, 1);
  });

  it('keeps well-formed answers with null or absent optional parts, filled in as the types say', async () => {
    rogue.mode = 'sparse';
    const infos = await new DiscoveryClient(caller, { gap: 150 }).info('rogue');
    assert.deepEqual(
      infos.map((i) => [i.id, i.metadata, i.description, i.endpoints]),
      [
        ['go-style', {}, '', []],
        ['no-queue', {}, '', [{ name: 'x', subject: 'other.x', queue_group: '', metadata: {} }]],
      ],
    );
  });

  it('info() ends at its deadline while a rogue keeps answering, with what it had', { timeout: 15_000 }, async () => {
    rogue.mode = 'flood';
    rogue.every = 150;
    const discovery = new DiscoveryClient(caller, { gap: 250, deadline: 1_500 });
    const started = Date.now();
    const infos = await discovery.info();
    const took = Date.now() - started;
    assert.ok(took >= 1_400 && took < 2_000, `took ${took} ms; the deadline is 1 500`);
    assert.ok(infos.some((i) => i.id === worker.service!.id));
    assert.ok(infos.length >= 5 && infos.length <= 12, `${infos.length} answers`);
  });

  it('info() ends at maxAnswers, well before its deadline', { timeout: 15_000 }, async () => {
    rogue.mode = 'flood';
    rogue.every = 20;
    const discovery = new DiscoveryClient(caller, { gap: 250, deadline: 10_000, maxAnswers: 5 });
    const started = Date.now();
    const infos = await discovery.info();
    const took = Date.now() - started;
    assert.equal(infos.length, 5);
    assert.ok(took < 2_000, `took ${took} ms`);
  });

  describe('the gateway directory', () => {
    let gatewayBus: BusClient;
    let gateway: { app: INestApplication; url: string };

    before(async () => {
      gatewayBus = new BusClient(new NatsTransport({ servers: server.url }), { agentId: 'edge', logger: recordingLogger() });
      await gatewayBus.connect();
      gateway = await gatewayApp(gatewayBus, { invokeTargets: ['lab.>'], streamTargets: [] });
    });

    after(async () => {
      await gateway?.app.close();
      await gatewayBus?.close();
    });

    it('GET /v1/agents lists the real agents and keeps up with them while the rogue answers', async () => {
      rogue.mode = 'forged';
      assert.deepEqual(await listed(), [['lab.worker', ['lab.add']]]);
      // A forged announcement, as malformed as the forged answers, is skipped too.
      rogue.nc.publish(
        'acp.v1.discovery.changed.rogue.x',
        JSON.stringify({ payload: { type: 'io.openagentio.discovery.v1.changed', info: FORGED_INFOS[1] } }),
      );
      const sub = worker.handleInvoke('lab.extra', () => 1);
      await sub.ready;
      await until(async () => JSON.stringify(await listed()) === JSON.stringify([['lab.worker', ['lab.add', 'lab.extra']]]));
      sub.unsubscribe();
      await until(async () => JSON.stringify(await listed()) === JSON.stringify([['lab.worker', ['lab.add']]]));
    });

    async function listed(): Promise<Array<[string, string[]]>> {
      const res = await fetch(`${gateway.url}/v1/agents`);
      assert.equal(res.status, 200);
      const { agents } = (await res.json()) as { agents: GatewayAgentListing[] };
      return agents.map((a) => [a.agent_id, a.targets.map((t) => t.name).sort()]);
    }
  });
});

/** Polls `check` until it holds (discovery news travels as messages; there is no event to await over HTTP). */
async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
