/**
 * One role of the gateway SSE fan-out suite (bench/suites/sse.ts forks it), each in a process of its own:
 *   node dist/bench/sse-child.js handler <nats url>   the bus stream handler `bench.sse`
 *   node dist/bench/sse-child.js gateway <nats url>   a Nest HTTP app with GatewayModule over NATS exposing it
 *   node dist/bench/sse-child.js express <frame>      a plain Express SSE endpoint (GET /sse?n=&ms=)
 * The handler writes `n` deltas `{t, i}` one every `ms` ms, `t` the write time (process.hrtime, the machine's
 * monotonic clock, which the client process reads too). Express sends the same frame text per tick, its `t`
 * replaced. Each says `{ready, port}` over IPC and answers `rss` messages with its RSS in bytes (after a GC), and
 * `cpu` messages with its CPU time (all threads, µs) and its main thread's run-queue wait (ms, Linux).
 */
import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const [, , role, arg] = process.argv;
const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const send = (m: unknown) => process.send!(m);

/** Main-thread time spent ready to run but waiting for a CPU (Linux schedstat), ms; undefined elsewhere. */
function runQueueWaitMs(): number | undefined {
  try {
    return Number(readFileSync('/proc/self/schedstat', 'utf8').split(' ')[1]) / 1e6;
  } catch {
    return undefined;
  }
}

process.on('message', (m: { rss?: boolean; cpu?: boolean; exit?: boolean }) => {
  if (m.exit) process.exit(0);
  if (m.cpu) {
    const u = process.cpuUsage();
    send({ cpu: { us: u.user + u.system, waitMs: runQueueWaitMs() } });
  }
  if (m.rss) {
    (globalThis as { gc?: () => void }).gc?.();
    send({ rss: process.memoryUsage().rss });
  }
});

async function handler(url: string): Promise<void> {
  const { BusClient, NatsTransport } = await import('@openagentio/nestjs');
  const bus = new BusClient(new NatsTransport({ servers: url, name: 'bench-sse-handler', warnOpenAccount: false }), {
    agentId: 'bench-sse-handler',
    logger: { log() {}, warn() {}, error() {} },
  });
  await bus.connect();
  await bus.handleStream<{ n: number; ms: number }>('bench.sse', async (p, ctx) => {
    for (let i = 0; i < p.n && !ctx.signal.aborted; i++) {
      await new Promise((r) => setTimeout(r, p.ms));
      await ctx.writer.delta({ t: nowUs(), i });
    }
    return 'done';
  }).ready;
  send({ ready: true });
}

async function gateway(url: string): Promise<void> {
  const [{ Global, Module }, { NestFactory }, { BusClient, NatsTransport }, { GatewayModule }] = await Promise.all([
    import('@nestjs/common'),
    import('@nestjs/core'),
    import('@openagentio/nestjs'),
    import('@openagentio/nestjs-gateway'),
  ]);
  const bus = new BusClient(new NatsTransport({ servers: url, name: 'bench-sse-gateway', warnOpenAccount: false }), {
    agentId: 'bench-sse-gateway',
    logger: { log() {}, warn() {}, error() {} },
  });
  await bus.connect();
  @Global()
  @Module({ providers: [{ provide: BusClient, useValue: bus }], exports: [BusClient] })
  class BenchBusModule {}
  @Module({ imports: [BenchBusModule, GatewayModule.forRoot({ streamTargets: ['bench.sse'], streamTimeout: 600_000 })] })
  class BenchGatewayModule {}
  const app = await NestFactory.create(BenchGatewayModule, { logger: ['error'] });
  await app.listen(0, '127.0.0.1');
  const server = app.getHttpServer() as { address(): AddressInfo; maxConnections?: number };
  send({ ready: true, port: server.address().port });
}

async function express(frame: string): Promise<void> {
  const { ExpressAdapter } = await import('@nestjs/platform-express');
  // The Express instance Nest's adapter makes, used bare: no Nest, one route.
  const app = new ExpressAdapter().getInstance() as {
    get(path: string, h: (req: { query: Record<string, string> }, res: import('node:http').ServerResponse) => void): void;
  };
  const [before, after] = frame.split('"t":0');
  app.get('/sse', (req, res) => {
    const n = Number(req.query.n);
    const ms = Number(req.query.ms);
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': open\n\n');
    let i = 0;
    const tick = () => {
      if (res.destroyed) return;
      res.write(`${before}"t":${nowUs()}${after}`);
      if (++i >= n) res.end();
      else timer = setTimeout(tick, ms);
    };
    let timer = setTimeout(tick, ms);
    res.on('close', () => clearTimeout(timer));
  });
  const server = createServer(app as never);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  send({ ready: true, port: (server.address() as AddressInfo).port });
}

const roles: Record<string, (a: string) => Promise<void>> = { handler, gateway, express };
roles[role](arg).catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
