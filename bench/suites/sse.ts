import { fork, type ChildProcess } from 'node:child_process';
import { request, type ClientRequest } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchConfig } from '../config.js';
import { percentile } from '../lib/measure.js';
import type { Metrics } from '../lib/results.js';

const childJs = join(dirname(fileURLToPath(import.meta.url)), '..', 'sse-child.js');
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/** Clients, frames per client and the frame interval of the SSE fan-out suite. */
export function sseCounts(cfg: BenchConfig): { clients: number; frames: number; ms: number } {
  return cfg.quick ? { clients: 100, frames: 40, ms: 50 } : { clients: 1000, frames: 100, ms: 50 };
}

interface Child {
  proc: ChildProcess;
  port?: number;
  rss(): Promise<number>;
  cpu(): Promise<Cpu>;
}

/** A child's CPU time (µs, all its threads) and its main thread's run-queue wait (ms; undefined off Linux). */
interface Cpu {
  us: number;
  waitMs?: number;
}

async function start(role: string, arg: string): Promise<Child> {
  // BENCH_SSE_PROF=<dir>: a CPU profile of each child (written when it exits on SIGTERM, see stop()).
  const prof = process.env.BENCH_SSE_PROF;
  const execArgv = ['--expose-gc', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${role}.cpuprofile`] : [])];
  const proc = fork(childJs, [role, arg], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ready = await new Promise<{ port?: number }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sse ${role} did not start in 60 s`)), 60_000);
    proc.on('message', (m: { ready?: boolean; port?: number }) => {
      if (m.ready) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sse ${role} exited with ${code}`));
    });
  });
  const ask = <K extends 'rss' | 'cpu'>(key: K) =>
    new Promise<{ rss: number; cpu: Cpu }[K]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`sse ${role}: no ${key} answer`)), 30_000);
      const on = (m: { rss?: number; cpu?: Cpu }) => {
        if (m[key] === undefined) return;
        clearTimeout(timer);
        proc.off('message', on);
        resolve(m[key] as { rss: number; cpu: Cpu }[K]);
      };
      proc.on('message', on);
      proc.send({ [key]: true });
    });
  return { proc, port: ready.port, rss: () => ask('rss'), cpu: () => ask('cpu') };
}

function stop(c: Child | undefined): Promise<void> {
  if (!c || c.proc.exitCode !== null || c.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
    c.proc.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    // A profiled child exits by itself on 'exit' (below) so that its profile is written.
    c.proc.send({ exit: true });
  });
}

interface FanOut {
  frames: number;
  latencies: number[];
  rssPerClientKB: number;
  clientsWithFrames: number;
  /** CPU µs per delivered frame of each process in `cpuOf`, and its main thread's run-queue wait as a share of the run. */
  cpu: Array<{ usPerFrame: number; waitShare?: number }>;
}

/**
 * `n` SSE clients on `path` of `port` at once, each its own connection; every frame's latency is the client's read
 * time minus the `t` its producer wrote. Clients are closed at the nominal end of their streams plus 2 s, so a
 * side that falls behind delivers fewer frames. RSS per client: the serving process's RSS with every client
 * receiving, minus before, over n.
 */
async function fanOut(
  port: number,
  path: string,
  body: string | undefined,
  n: number,
  frames: number,
  ms: number,
  server: Child,
  cpuOf: Child[],
): Promise<FanOut> {
  const rss0 = await server.rss();
  const cpu0 = await Promise.all(cpuOf.map((c) => c.cpu()));
  const tCpu0 = Date.now();
  const latencies: number[] = [];
  let delivered = 0;
  let withFrames = 0;
  let ended = 0;
  let allEnded: (() => void) | undefined;
  let allStarted: (() => void) | undefined;
  const reqs: ClientRequest[] = [];
  for (let c = 0; c < n; c++) {
    let got = 0;
    let tail = '';
    let finished = false;
    const done = () => {
      if (finished) return;
      finished = true;
      if (++ended === n) allEnded?.();
    };
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const req = request({ host: '127.0.0.1', port, path, method: body === undefined ? 'GET' : 'POST', agent: false, headers }, (res) => {
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        const at = nowUs();
        const text = tail + chunk;
        let from = 0;
        for (;;) {
          const end = text.indexOf('\n\n', from);
          if (end < 0) break;
          const k = text.indexOf('"t":', from);
          if (k >= 0 && k < end) {
            latencies.push(at - parseInt(text.slice(k + 4, k + 24), 10));
            delivered++;
            if (++got === 1 && ++withFrames === n) allStarted?.();
          }
          from = end + 2;
        }
        tail = text.slice(from);
      });
      res.on('end', done);
      res.on('error', done);
    });
    req.on('error', done);
    req.end(body);
    reqs.push(req);
  }
  const nominalMs = frames * ms;
  const cap = nominalMs + 2000;
  const t0 = Date.now();
  await Promise.race([new Promise<void>((r) => (allStarted = r)), sleepMs(Math.max(1000, nominalMs / 2))]);
  const rssN = await server.rss();
  await Promise.race([new Promise<void>((r) => (allEnded = r)), sleepMs(Math.max(0, cap - (Date.now() - t0)))]);
  const cpu1 = await Promise.all(cpuOf.map((c) => c.cpu()));
  const span = Date.now() - tCpu0;
  for (const r of reqs) r.destroy();
  const cpu = cpu1.map((c, i) => ({
    usPerFrame: (c.us - cpu0[i].us) / Math.max(1, delivered),
    waitShare: c.waitMs === undefined || cpu0[i].waitMs === undefined ? undefined : (c.waitMs - cpu0[i].waitMs) / span,
  }));
  return { frames: delivered, latencies, rssPerClientKB: (rssN - rss0) / n / 1024, clientsWithFrames: withFrames, cpu };
}

const sleepMs = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** One delta frame as the gateway writes it (its `t` set to 0), for the Express peer to send. */
function sampleFrame(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: `/v1/agents/bench.sse/stream?payload=${encodeURIComponent('{"n":2,"ms":1}')}` },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          text += c;
          const k = text.indexOf('"t":');
          if (k < 0) return;
          const start = text.lastIndexOf('\n\n', k) + 2;
          const end = text.indexOf('\n\n', k);
          if (end < 0) return;
          req.destroy();
          resolve(text.slice(start, end + 2).replace(/"t":\d+/, '"t":0'));
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/**
 * Gateway SSE fan-out (`--only=sse`): N concurrent SSE clients through the gateway over NATS, each on its own
 * stream of a handler writing one delta every 50 ms (20/s), against a plain Express SSE endpoint sending the same
 * frame text on the same schedule, in the same run. The handler, the gateway and Express each run in a process of
 * their own; the clients run here. Metrics (stack `sse`): p50/p99 latency handler write → client read, RSS per
 * client of the serving process, frames delivered (ours and express.*).
 */
export async function sseSuite(natsUrl: string, cfg: BenchConfig, metrics: Metrics, log: (s: string) => void): Promise<void> {
  const { clients, frames, ms } = sseCounts(cfg);
  metrics.notes.push(
    `Gateway SSE fan-out: ${clients} clients, ${frames} deltas each, one every ${ms} ms; handler, gateway and Express each in a process of its own, the clients in the bench process`,
  );
  let handler: Child | undefined;
  let gateway: Child | undefined;
  let express: Child | undefined;
  try {
    handler = await start('handler', natsUrl);
    gateway = await start('gateway', natsUrl);
    const frame = await sampleFrame(gateway.port!);
    express = await start('express', frame);
    // POST …/stream: a stream attached to its response (GET …/stream, for EventSource, is a detached one with a
    // replay buffer and a per-identity quota).
    const body = JSON.stringify({ n: frames, ms });
    const sides: Array<[string, () => Promise<FanOut>]> = [
      ['', () => fanOut(gateway!.port!, '/v1/agents/bench.sse/stream', body, clients, frames, ms, gateway!, [gateway!, handler!])],
      ['express.', () => fanOut(express!.port!, `/sse?n=${frames}&ms=${ms}`, undefined, clients, frames, ms, express!, [express!])],
    ];
    for (const [prefix, run] of sides) {
      const r = await run();
      const sorted = r.latencies.sort((a, b) => a - b);
      metrics.put('sse', `${prefix}p50`, percentile(sorted, 50));
      metrics.put('sse', `${prefix}p99`, percentile(sorted, 99));
      metrics.put('sse', `${prefix}rssKB`, r.rssPerClientKB);
      metrics.put('sse', `${prefix}frames`, r.frames);
      // What serving a frame costs, whatever the machine's load (the latencies above include waiting for a CPU):
      // the serving process, and for ours also the handler process that produces the frames.
      metrics.put('sse', `${prefix}cpuUs`, r.cpu[0].usPerFrame);
      if (r.cpu[1]) metrics.put('sse', `${prefix}handlerCpuUs`, r.cpu[1].usPerFrame);
      if (r.cpu[0].waitShare !== undefined) metrics.put('sse', `${prefix}runQueuePct`, 100 * r.cpu[0].waitShare);
      log(
        `  SSE ${prefix ? 'plain Express' : 'gateway over NATS'}: ${clients} clients (${r.clientsWithFrames} got frames), ${r.frames} of ${clients * frames} frames, p50 ${Math.round(percentile(sorted, 50))} µs, p99 ${Math.round(percentile(sorted, 99))} µs, ${r.rssPerClientKB.toFixed(1)} KB RSS per client; CPU ${r.cpu.map((c) => `${c.usPerFrame.toFixed(1)} µs`).join(' + ')} per frame, main thread waiting for a CPU ${r.cpu[0].waitShare === undefined ? 'n/a' : `${Math.round(100 * r.cpu[0].waitShare)}%`} of the run`,
      );
    }
  } finally {
    await Promise.all([stop(express), stop(gateway), stop(handler)]);
  }
}
