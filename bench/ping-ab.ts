/**
 * A/B of the NATS transport's ping defaults (1 s, 3 outstanding) against nats.js's (2 min, 2) on the invoke hot
 * path, in one process against one nats-server, rounds interleaved so host noise hits both alike:
 *   node --expose-gc dist/bench/ping-ab.js [rounds] [seconds]
 */
import { BusClient, NatsTransport, type NatsTransportOptions } from '@openagentio/nestjs';
import { closedLoop, median } from './lib/measure.js';
import { startNatsServer } from './lib/nats-server.js';

const quiet = { log() {}, warn() {}, error() {}, debug() {} };

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 6);
  const ms = Number(process.argv[3] ?? 2) * 1000;
  const server = await startNatsServer();
  const buses: BusClient[] = [];
  const pair = async (name: string, extra: NatsTransportOptions) => {
    const make = (id: string) =>
      new BusClient(new NatsTransport({ servers: server.url, logger: quiet, ...extra }), { agentId: id, logger: quiet, discovery: false });
    const responder = make(`r${name}`);
    const caller = make(`c${name}`);
    buses.push(responder, caller);
    await responder.connect();
    await caller.connect();
    responder.handleInvoke(`ab${name}.echo`, (p: unknown) => p);
    await responder.transport.flush();
    return () => caller.invoke(`ab${name}.echo`, { i: 1 });
  };
  try {
    const sides = { defaults: await pair('a', {}), natsjs: await pair('b', { pingInterval: 120_000, maxPingOut: 2 }) };
    const ops: Record<keyof typeof sides, number[]> = { defaults: [], natsjs: [] };
    for (let r = 0; r < rounds; r++) {
      const order = (r % 2 ? ['natsjs', 'defaults'] : ['defaults', 'natsjs']) as Array<keyof typeof sides>;
      for (const k of order) ops[k].push((await closedLoop(sides[k], { concurrency: 64, durationMs: ms, warmupMs: 200 })).opsPerSec);
    }
    for (const k of ['defaults', 'natsjs'] as const) {
      console.log(
        `${k === 'defaults' ? 'ping 1 s × 3 (ours)' : 'ping 2 min × 2 (nats.js)'}: ${ops[k].map(Math.round).join(', ')} invokes/s, median ${Math.round(median(ops[k]))}`,
      );
    }
  } finally {
    for (const b of buses) await b.close().catch(() => undefined);
    await server.stop();
  }
}

void main();
