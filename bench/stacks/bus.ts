import {
  BusClient,
  EventTypes,
  MemoryBroker,
  MemoryTransport,
  NatsTransport,
  type BusLogger,
  type StreamHandler,
  type Transport,
} from '@openagentio/nestjs';
import { nowUs, sleep, withTimeout } from '../lib/measure.js';
import type { InvokeStack, PubSubStack } from './types.js';

export const ECHO = 'bench.echo';
export const STREAM = 'bench.stream';
export const HOLD = 'bench.hold';
export const STREAM_DEFERRED = 'bench.stream.deferred';
export const EVENTS = 'bench.events';

/** The bench's stream handler: `n` deltas of `delta` (default "tok "), each awaited, then the result "done". */
export const benchStream: StreamHandler<{ n: number; delta?: string }> = async (p, ctx) => {
  const d = p.delta ?? 'tok ';
  for (let i = 0; i < p.n; i++) await ctx.writer.delta(d);
  return 'done';
};

export type TransportFactory = (role: string) => Transport;

export function memoryTransports(): TransportFactory {
  const broker = new MemoryBroker();
  return () => new MemoryTransport({ broker });
}

export async function natsTransports(url: string): Promise<TransportFactory | undefined> {
  // The bench servers have no authentication on purpose: no warning about it in the results.
  return (role) => new NatsTransport({ servers: url, name: `bench-${role}`, warnOpenAccount: false });
}

/**
 * A responder bus and a caller bus on separate transport connections, with the bench handlers registered:
 * echo (invoke), stream (n deltas through the writer, flow control on), hold (one delta, then waits for cancel).
 */
export class BusPair {
  /** Called with nowUs() when a `hold` handler's AbortSignal fires. */
  onHoldAbort?: (atUs: number) => void;
  holdOpen = 0;
  /** Why `hold` handlers were aborted (error code or message), for diagnosis. */
  readonly holdAbortReasons = new Map<string, number>();

  private constructor(
    readonly label: string,
    readonly server: BusClient,
    readonly client: BusClient,
  ) {}

  static async create(
    label: string,
    make: TransportFactory,
    opts: { streamWindow?: number; subjectPrefix?: string; audit?: boolean } = {},
  ): Promise<BusPair> {
    const quiet: BusLogger | undefined = process.env.BENCH_VERBOSE ? undefined : { log() {}, warn() {}, error() {} };
    const server = new BusClient(make('server'), {
      agentId: 'bench-server',
      subjectPrefix: opts.subjectPrefix,
      logger: quiet,
      audit: opts.audit,
    });
    const client = new BusClient(make('client'), {
      agentId: 'bench-client',
      subjectPrefix: opts.subjectPrefix,
      streamWindow: opts.streamWindow,
      logger: quiet,
    });
    await server.connect();
    await client.connect();
    const pair = new BusPair(label, server, client);
    server.handleInvoke(ECHO, (p: unknown) => p);
    server.handleStream(STREAM, benchStream);
    // The same stream handler registered with `deferStarted` (started is sent with the first delta, not before
    // the handler runs); options passed untyped so this compiles whatever HandlerOptions looks like.
    const deferred: Record<string, unknown> = { deferStarted: true };
    server.handleStream(STREAM_DEFERRED, benchStream, deferred);
    server.handleStream(HOLD, async (_p: unknown, ctx) => {
      await ctx.writer.delta('open');
      pair.holdOpen++;
      try {
        await new Promise<void>((resolve) => {
          if (ctx.signal.aborted) return resolve();
          ctx.signal.addEventListener(
            'abort',
            () => {
              pair.onHoldAbort?.(nowUs());
              const r = ctx.signal.reason as { code?: string; message?: string } | undefined;
              const why = `${r?.code ?? ''} ${r?.message ?? String(r)}`.trim();
              pair.holdAbortReasons.set(why, (pair.holdAbortReasons.get(why) ?? 0) + 1);
              resolve();
            },
            { once: true },
          );
        });
      } finally {
        pair.holdOpen--;
      }
      return 'cancelled';
    });
    await server.transport.flush();
    return pair;
  }

  invokeStack(name: string): InvokeStack {
    return { name, invoke: (p) => this.client.invoke(ECHO, p), close: () => this.close() };
  }

  /** One stream of n deltas; resolves with the number of deltas received. */
  async stream(n: number, delta?: string): Promise<number> {
    let c = 0;
    for await (const f of this.client.stream(STREAM, { n, delta })) if (f.event_type === EventTypes.DELTA) c++;
    return c;
  }

  /** Time to first delta (µs) of a one-delta stream, measured from the stream() call; the stream is read to its end. */
  async timeToFirstDelta(deferStarted = false): Promise<number> {
    const t0 = nowUs();
    let t1 = 0;
    for await (const f of this.client.stream(deferStarted ? STREAM_DEFERRED : STREAM, { n: 1 }))
      if (t1 === 0 && f.event_type === EventTypes.DELTA) t1 = nowUs();
    return t1 - t0;
  }

  /** Opens a `hold` stream, waits for its first delta, aborts, and measures abort() → handler AbortSignal (µs). */
  async cancelLatency(): Promise<number> {
    const ac = new AbortController();
    const s = this.client.stream(HOLD, {}, { signal: ac.signal });
    const it = s[Symbol.asyncIterator]();
    for (;;) {
      const r = await withTimeout(it.next(), 5000, 'hold stream first delta');
      if (r.done) throw new Error('hold stream ended early');
      if (r.value.event_type === EventTypes.DELTA) break;
    }
    const aborted = new Promise<number>((resolve) => (this.onHoldAbort = resolve));
    const t0 = nowUs();
    ac.abort();
    const t1 = await withTimeout(aborted, 5000, 'handler abort');
    this.onHoldAbort = undefined;
    return t1 - t0;
  }

  pubSubStack(name: string): PubSubStack {
    let received = 0;
    let lastAt = 0;
    this.server.subscribe(EVENTS, () => {
      received++;
      lastAt = nowUs();
    });
    return {
      name,
      run: async (count, capMs, payload) => {
        await this.server.transport.flush();
        received = 0;
        const stopAt = Date.now() + capMs;
        const t0 = nowUs();
        let sent = 0;
        let failed: unknown;
        while (sent < count && Date.now() < stopAt && failed === undefined) {
          // Not awaited one by one (publish() sends synchronously and returns the envelope's promise), so a burst
          // reaches the socket in one write, as raw nc.publish() in a loop does.
          this.client.publish(EVENTS, payload).catch((e) => (failed = e));
          sent++;
          if (sent % 1000 === 0) await this.client.transport.flush();
        }
        await this.client.transport.flush();
        if (failed !== undefined) throw failed;
        while (received < sent && Date.now() < stopAt + 2000) await sleep(1);
        return { received, seconds: ((received < sent ? nowUs() : lastAt) - t0) / 1e6 };
      },
      close: () => this.close(),
    };
  }

  private closed = false;
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.client.close().catch(() => {});
    await this.server.close().catch(() => {});
  }
}
