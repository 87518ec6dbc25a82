import { EventTypes } from '@openagentio/nestjs';
import type { PeerProcess } from '../../test/support/peer-process.js';
import type { BenchConfig } from '../config.js';
import { closedLoop, median, nowUs, payloadOfSize, sequential, summarize } from '../lib/measure.js';
import type { Metrics } from '../lib/results.js';
import { ECHO, STREAM, type BusPair } from '../stacks/bus.js';
import type { SplitBus } from '../stacks/split-bus.js';
import type { BusClient } from '@openagentio/nestjs';

/**
 * An upstream runtime as a bench peer on the bench's own nats-server (bench/suites/python-peer.ts,
 * bench/suites/go-peer.ts): the peer's bench program runs twice, as a server (its echo and stream targets: the same
 * echo and the same frames as our bench handlers) and as a caller driven by JSON commands (`seq`, `conc`, `stream`),
 * which times its own calls in its own process.
 *
 * Four routes, all on the same 100-byte JSON payload and the same counts as the invoke and stream suites: ours → ours
 * (the bench's BusPair, both in this process), theirs → theirs (two peer processes), ours → theirs and theirs → ours,
 * and, when the spec has `split`, ours → ours in two processes (the shape of the peer's own route).
 * As in the invoke suite, the routes' sequential blocks and their 64-in-flight blocks are interleaved round by round
 * (order rotating), so that host drift hits every route alike; a peer block runs while this process only waits for its
 * result line, unless the route's responder is ours. One stream's deltas/s is the median of `streamSamples` streams
 * per route, sized from a warm-up rate, also interleaved. Metrics per route: seq.p50, seq.p99, conc.ops, stream1.
 */
/** Slack added to a peer block's own time cap before the bench gives up on its result line. */
const SLACK_MS = 30_000;

/** How to run one upstream peer. */
export interface UpstreamPeerSpec {
  /** Route key prefix (`pypeer`, `gopeer`). */
  prefix: string;
  /** The peer's name in route keys, logs and notes (`python`, `go`). */
  label: string;
  /** Its bench server's invoke and stream targets. */
  echo: string;
  stream: string;
  /** Starts its bench program in a role; resolves once it is ready. */
  start(role: 'server' | 'caller'): Promise<PeerProcess>;
  /**
   * Ours → ours with each end in its own process, as the peer's own route runs (route `${prefix}.ours-2p`): a caller
   * bus here and a responder in a forked process (bench/stacks/split-bus.ts). Closed with the bench.
   */
  split?: SplitBus;
}

interface Route {
  key: string;
  seq(count: number, capMs: number, into: number[]): Promise<void>;
  conc(concurrency: number, ms: number, warmupMs: number): Promise<{ ops: number; seconds: number }>;
  stream(n: number): Promise<{ deltas: number; seconds: number }>;
}

export class UpstreamPeerBench {
  private constructor(
    private readonly server: PeerProcess,
    private readonly caller: PeerProcess,
    private readonly routes: Route[],
    /** How the peer is named in log lines and notes ("python", "go"). */
    private readonly label: string,
    private readonly split?: SplitBus,
  ) {}

  /**
   * Starts the peer's server and caller processes (`spec.start`); throws when either cannot start. Routes, keyed
   * `${spec.prefix}.ours`, `.${spec.label}`, `.ours→${spec.label}`, `.${spec.label}→ours`.
   */
  static async start(spec: UpstreamPeerSpec, pair: BusPair): Promise<UpstreamPeerBench> {
    const server = await spec.start('server');
    let caller: PeerProcess;
    try {
      caller = await spec.start('caller');
    } catch (err) {
      await server.stop();
      throw err;
    }
    const payload = payloadOfSize(100);
    const ask = async (cmd: Record<string, unknown>, timeoutMs: number) => {
      const { done } = await caller.run(cmd, timeoutMs);
      if (done.error) throw new Error(`${spec.label} caller ${String(cmd.op)} ${String(cmd.target)}: ${done.error}`);
      return done;
    };
    const ours = (key: string, echo: string, stream: string, client: BusClient = pair.client): Route => ({
      key,
      seq: async (count, capMs, into) => {
        await sequential(() => client.invoke(echo, payload), count, capMs, into);
      },
      conc: async (concurrency, ms, warmupMs) => {
        const r = await closedLoop(() => client.invoke(echo, payload), { concurrency, durationMs: ms, warmupMs });
        return { ops: r.ops, seconds: r.seconds };
      },
      stream: async (n) => {
        const t0 = nowUs();
        let deltas = 0;
        for await (const f of client.stream(stream, { n })) if (f.event_type === EventTypes.DELTA) deltas++;
        return { deltas, seconds: (nowUs() - t0) / 1e6 };
      },
    });
    const theirs = (key: string, echo: string, stream: string): Route => ({
      key,
      seq: async (count, capMs, into) => {
        const done = await ask({ op: 'seq', target: echo, payload, count, cap_ms: capMs }, capMs + SLACK_MS);
        into.push(...(done.samples_us as number[]));
      },
      conc: async (concurrency, ms, warmupMs) => {
        const done = await ask({ op: 'conc', target: echo, payload, concurrency, ms, warmup_ms: warmupMs }, ms + warmupMs + SLACK_MS);
        return { ops: done.ops as number, seconds: done.seconds as number };
      },
      stream: async (n) => {
        const done = await ask({ op: 'stream', target: stream, n }, 120_000);
        return { deltas: done.deltas as number, seconds: done.seconds as number };
      },
    });
    const { prefix, label } = spec;
    const routes = [
      ours(`${prefix}.ours`, ECHO, STREAM),
      theirs(`${prefix}.${label}`, spec.echo, spec.stream),
      ours(`${prefix}.ours→${label}`, spec.echo, spec.stream),
      theirs(`${prefix}.${label}→ours`, ECHO, STREAM),
    ];
    if (spec.split) routes.push(ours(`${prefix}.ours-2p`, ECHO, STREAM, spec.split.client));
    return new UpstreamPeerBench(server, caller, routes, label, spec.split);
  }

  async run(cfg: BenchConfig, metrics: Metrics, run: number, log: (s: string) => void): Promise<void> {
    const live = new Set<Route>();
    const fail = (r: Route, what: string, err: unknown) => {
      live.delete(r);
      metrics.notes.push(`${this.label} peer ${r.key}: ${what} failed: ${(err as Error).message.split('\n')[0]}`);
      log(`  ${this.label} ${r.key} ${what} FAILED: ${(err as Error).message}`);
    };
    for (const r of this.routes) {
      try {
        await r.seq(cfg.seqWarmup, 5000, []);
        live.add(r);
      } catch (err) {
        fail(r, 'warm-up', err);
      }
    }
    /** Round by round, every live route once, the order rotating with the run and the round. */
    const rounds = async (n: number, what: string, f: (r: Route) => Promise<void>) => {
      for (let k = 0; k < n; k++) {
        for (let i = 0; i < this.routes.length; i++) {
          const r = this.routes[(i + run + k) % this.routes.length];
          if (!live.has(r)) continue;
          await f(r).catch((err) => fail(r, what, err));
        }
      }
    };

    const seq = new Map(this.routes.map((r) => [r, [] as number[]]));
    await rounds(cfg.seqRounds, 'sequential', (r) => r.seq(cfg.seqBlock, cfg.seqBlockCapMs, seq.get(r)!));
    for (const r of this.routes) {
      const s = seq.get(r)!;
      if (!live.has(r) || s.length === 0) continue;
      const sum = summarize(s);
      metrics.put(r.key, 'seq.p50', sum.p50);
      metrics.put(r.key, 'seq.p99', sum.p99);
      log(`  ${this.label} invoke seq   ${r.key.padEnd(20)} p50 ${sum.p50.toFixed(0)} µs  p99 ${sum.p99.toFixed(0)} µs  (n=${sum.n})`);
    }

    const conc = new Map(this.routes.map((r) => [r, { ops: 0, seconds: 0 }]));
    await rounds(1, `${cfg.concurrency}-in-flight warm-up`, async (r) => {
      await r.conc(cfg.concurrency, cfg.concWarmupMs, 0);
    });
    const blockMs = cfg.concMs / cfg.concRounds;
    await rounds(cfg.concRounds, `${cfg.concurrency} in flight`, async (r) => {
      const res = await r.conc(cfg.concurrency, blockMs, 0);
      const acc = conc.get(r)!;
      acc.ops += res.ops;
      acc.seconds += res.seconds;
    });
    for (const r of this.routes) {
      const acc = conc.get(r)!;
      if (!live.has(r) || acc.ops === 0) continue;
      metrics.put(r.key, 'conc.ops', acc.ops / acc.seconds);
      log(`  ${this.label} invoke ${cfg.concurrency}-in-flight ${r.key.padEnd(20)} ${Math.round(acc.ops / acc.seconds)} ops/s`);
    }

    // One stream: each route's delta count sized from its own warm-up rate, as oneStreamRate does.
    const sizes = new Map<Route, number>();
    await rounds(1, 'stream warm-up', async (r) => {
      const warmN = cfg.quick ? 2000 : 5000;
      const w = await r.stream(warmN);
      if (w.deltas !== warmN) throw new Error(`warm-up stream carried ${w.deltas} of ${warmN} deltas`);
      const rate = w.deltas / w.seconds;
      sizes.set(r, Math.max(1000, Math.min(cfg.streamMaxDeltas, Math.round((rate * cfg.streamSeconds) / cfg.streamSamples))));
    });
    const rates = new Map(this.routes.map((r) => [r, [] as number[]]));
    await rounds(cfg.streamSamples, 'one stream', async (r) => {
      const n = sizes.get(r)!;
      const s = await r.stream(n);
      if (s.deltas !== n) throw new Error(`stream carried ${s.deltas} of ${n} deltas`);
      rates.get(r)!.push(s.deltas / s.seconds);
    });
    for (const r of this.routes) {
      const rs = rates.get(r)!;
      if (!live.has(r) || rs.length === 0) continue;
      metrics.put(r.key, 'stream1', median(rs));
      log(`  ${this.label} stream ${r.key.padEnd(20)} one stream ${Math.round(median(rs))} deltas/s (n=${sizes.get(r)})`);
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.caller.stop(), this.server.stop(), this.split?.close()]);
  }
}
