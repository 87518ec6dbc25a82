/**
 * A/B of two builds of the library in ONE process, interleaved (host noise hits both alike):
 *   node dist/bench/probes/ab.js <mem-invoke|nats-invoke|nats-stream|nats-pubsub|nats-ttfd|mem-ttfd> <distA> <distB> [rounds] [seconds]
 * distA/distB are dist/ trees (e.g. /work/main/dist and a copy with a patched libs/ file). Each is loaded as its
 * own module graph, so the two buses are independent; they share one nats-server under different subject prefixes.
 */
import { pathToFileURL } from 'node:url';
import { closedLoop, median, nowUs, payloadOfSize } from '../lib/measure.js';
import { startNatsServer, type BenchNatsServer } from '../lib/nats-server.js';
import type { BusPair } from '../stacks/bus.js';

type BusModule = typeof import('../stacks/bus.js');

/** A LoggerProvider with a batching processor and an exporter that drops the batches (no I/O in the measure). */
async function installLogSdk(): Promise<void> {
  const { logs } = await import('@opentelemetry/api');
  const { LoggerProvider, BatchLogRecordProcessor } = await import('@opentelemetry/sdk-logs');
  const exporter = {
    export: (_batch: unknown[], done: (r: { code: number }) => void) => done({ code: 0 }),
    shutdown: async () => {},
    forceFlush: async () => {},
  };
  logs.setGlobalLoggerProvider(new LoggerProvider({ processors: [new BatchLogRecordProcessor({ exporter })] }));
}

async function main(): Promise<void> {
  const [what = 'mem-invoke', distA, distB, roundsArg = '5', secondsArg = '1'] = process.argv.slice(2);
  if (!distA || !distB) throw new Error('usage: ab.js <workload> <distA> <distB> [rounds] [seconds]');
  const rounds = Number(roundsArg);
  const ms = Number(secondsArg) * 1000;
  let server: BenchNatsServer | undefined;
  // AB_LOG_SDK=1: a logs SDK as an application would run it (batching, an exporter), so audit records cost what
  // they cost in production; without it they go to the API's no-op logger.
  if (process.env.AB_LOG_SDK === '1') await installLogSdk();
  const pairs: BusPair[] = [];
  try {
    if (what.startsWith('nats')) server = await startNatsServer();
    for (const [i, dist] of [distA, distB].entries()) {
      const mod = (await import(pathToFileURL(`${dist}/bench/stacks/bus.js`).href)) as BusModule;
      const make = server ? await mod.natsTransports(server.url) : mod.memoryTransports();
      if (!make) throw new Error(`${dist}: no NATS transport`);
      // AB_WINDOW_A / AB_WINDOW_B: the stream consumer's flow-control window of each side (default: the bus default).
      const win = Number(process.env[`AB_WINDOW_${i ? 'B' : 'A'}`]) || undefined;
      // AB_AUDIT_A / AB_AUDIT_B=1: the serving bus of that side keeps an audit trail (docs/security.md, "Audit trail").
      const audit = process.env[`AB_AUDIT_${i ? 'B' : 'A'}`] === '1';
      pairs.push(await mod.BusPair.create(`${i}`, make, { subjectPrefix: `ab${i}`, streamWindow: win, audit }));
    }
    const payload = payloadOfSize(100);
    // One publish/subscribe stack per side for all rounds: each pubSubStack() adds a subscriber, so making one per
    // round (as until 2026-12-07) delivered every event r times in round r, and the rates fell round by round.
    const pubsub = what.endsWith('pubsub') ? pairs.map((p) => p.pubSubStack('x')) : [];
    const res: number[][] = [[], []];
    const cpu: number[][] = [[], []];
    for (let r = 0; r < rounds; r++) {
      for (const i of r % 2 ? [1, 0] : [0, 1]) {
        const p = pairs[i];
        if (what.endsWith('invoke')) {
          const x = await closedLoop(() => p.client.invoke('bench.echo', payload), { concurrency: 64, durationMs: ms, warmupMs: 200 });
          res[i].push(x.opsPerSec);
          cpu[i].push(x.cpuUsPerOp);
        } else if (what.endsWith('stream')) {
          const until = Date.now() + ms;
          const t0 = nowUs();
          const c0 = process.cpuUsage();
          let n = 0;
          while (Date.now() < until) n += await p.stream(5000);
          const c = process.cpuUsage(c0);
          res[i].push(n / ((nowUs() - t0) / 1e6));
          cpu[i].push((c.user + c.system) / n);
        } else if (what.endsWith('ttfd')) {
          // time to first delta, alternating with invokes; res = ttfd p50 µs, cpu column = invoke p50 µs
          const t: number[] = [];
          const iv: number[] = [];
          const until = Date.now() + ms;
          while (Date.now() < until) {
            t.push(await p.timeToFirstDelta());
            const s0 = nowUs();
            await p.client.invoke('bench.echo', payload);
            iv.push(nowUs() - s0);
          }
          res[i].push(median(t));
          cpu[i].push(median(iv));
        } else if (what.endsWith('pubsub')) {
          const ps = pubsub[i];
          const c0 = process.cpuUsage();
          const x = await ps.run(2_000_000, ms, payload);
          const c = process.cpuUsage(c0);
          res[i].push(x.received / x.seconds);
          cpu[i].push((c.user + c.system) / Math.max(1, x.received));
        }
      }
    }
    for (const i of [0, 1]) {
      if (what.endsWith('ttfd')) {
        console.log(
          `${i ? 'B' : 'A'} ${[distA, distB][i]}: time to first delta p50 ${median(res[i]).toFixed(0)} µs, invoke p50 ${median(cpu[i]).toFixed(0)} µs (same loop)`,
        );
        continue;
      }
      console.log(
        `${i ? 'B' : 'A'} ${[distA, distB][i]}: ${what} median ${Math.round(median(res[i]))}/s, CPU ${median(cpu[i]).toFixed(1)} µs per op  (runs: ${res[i].map((v) => Math.round(v)).join(', ')})`,
      );
    }
    console.log(`B/A = ${(median(res[1]) / median(res[0])).toFixed(2)}×`);
  } finally {
    for (const p of pairs) await p.close();
    await server?.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
