/** Measurement loops. Every loop has a count cap and a time cap. Times in microseconds unless named otherwise. */

export function nowUs(): number {
  return Number(process.hrtime.bigint()) / 1000;
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function median(values: readonly number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = v.length >> 1;
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

export interface LatencySummary {
  n: number;
  p50: number;
  p90: number;
  p99: number;
}

export function summarize(samples: number[]): LatencySummary {
  const s = [...samples].sort((a, b) => a - b);
  return { n: s.length, p50: percentile(s, 50), p90: percentile(s, 90), p99: percentile(s, 99) };
}

/** Awaited calls one after another; returns one latency sample (µs) per call. */
export async function sequential(fn: () => Promise<unknown>, count: number, capMs: number, into: number[] = []): Promise<number[]> {
  const stopAt = Date.now() + capMs;
  for (let i = 0; i < count; i++) {
    const t0 = nowUs();
    await fn();
    into.push(nowUs() - t0);
    if ((i & 31) === 31 && Date.now() > stopAt) break;
  }
  return into;
}

export interface ClosedLoopResult {
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** Process CPU (user+system) per completed op, µs; covers both ends when they share the process. */
  cpuUsPerOp: number;
  latency?: LatencySummary;
}

/**
 * `concurrency` workers each calling `fn` back to back for `durationMs` (or until `maxOps` in total), after a warm-up.
 */
export async function closedLoop(
  fn: () => Promise<unknown>,
  opts: { concurrency: number; durationMs: number; warmupMs?: number; maxOps?: number; latency?: boolean; samples?: number[] },
): Promise<ClosedLoopResult> {
  const maxOps = opts.maxOps ?? Number.MAX_SAFE_INTEGER;
  if (opts.warmupMs && opts.warmupMs > 0) {
    const until = Date.now() + opts.warmupMs;
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        let k = 0;
        while (k++ < 1e6 && Date.now() < until) await fn();
      }),
    );
  }
  // `samples`: the caller's array, to pool the latencies of several blocks.
  const samples: number[] = opts.samples ?? [];
  const recordLatency = (opts.latency ?? false) || opts.samples !== undefined;
  let ops = 0;
  let stop = false;
  // The time cap is checked inline, not with a timer: an in-process workload made only of microtasks never
  // lets a timer fire.
  const cpu0 = process.cpuUsage();
  const t0 = nowUs();
  const stopAt = Date.now() + opts.durationMs;
  const timer = setTimeout(() => (stop = true), opts.durationMs);
  await Promise.all(
    Array.from({ length: opts.concurrency }, async () => {
      let k = 0;
      while (!stop && ops < maxOps) {
        if (recordLatency) {
          const s = nowUs();
          await fn();
          samples.push(nowUs() - s);
        } else {
          await fn();
        }
        ops++;
        if ((++k & 15) === 0 && Date.now() >= stopAt) stop = true;
      }
    }),
  );
  const seconds = (nowUs() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  clearTimeout(timer);
  return {
    ops,
    seconds,
    opsPerSec: ops / seconds,
    cpuUsPerOp: (cpu.user + cpu.system) / Math.max(1, ops),
    latency: recordLatency ? summarize(samples) : undefined,
  };
}

/** Calls `fn(1)` … `fn(count)` with `inFlight` calls outstanding at a time; resolves when all have settled. */
export async function countInFlight(count: number, inFlight: number, fn: (n: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) await fn(++next);
    }),
  );
}

/** Rejects after `ms` with a message, so no single await can hang the bench. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
    }),
  ]);
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A JSON payload of about `bytes` bytes when stringified. */
export function payloadOfSize(bytes: number): { id: number; kind: string; text: string } {
  const base = { id: 42, kind: 'bench', text: '' };
  const overhead = JSON.stringify(base).length;
  return { ...base, text: 'x'.repeat(Math.max(0, bytes - overhead)) };
}
