import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { heapAfterGc } from '../support/heap.js';
import type { BusClient } from '@openagentio/nestjs';
import { McpToolBridge, type BridgeContext, type McpToolResult } from '@openagentio/nestjs-bridges';
import { RecordingLogger } from '../support/bus-fixture.js';
import { killChild, ROOT, type SpawnedServer } from './helpers.js';

export const HOSTILE = join(ROOT, 'dist/test/mcp/fixtures/hostile-server.js');
export const MiB = 1024 * 1024;

export { heapAfterGc };

export interface Watched<T> {
  value: T;
  /** Longest event-loop delay seen while `fn` ran (ms). */
  maxDelayMs: number;
  /** Highest heap use seen while `fn` ran, above the heap before it (after a GC), in MiB. */
  peakHeapGrowthMiB: number;
}

/**
 * Runs `fn` while measuring the event-loop delay (perf_hooks.monitorEventLoopDelay) and sampling the heap every
 * 10 ms, so a hostile input that blocks the loop or fills the heap shows here whatever `fn` returns.
 */
export async function watch<T>(fn: () => Promise<T>): Promise<Watched<T>> {
  const base = heapAfterGc();
  let peak = base;
  const h = monitorEventLoopDelay({ resolution: 10 });
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  }, 10);
  h.enable();
  try {
    const value = await fn();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
    // The delay of a blocked loop is recorded by the monitor's next timer: let one more fire (not a synchronisation
    // wait: the measurement window must close after the work, or a block at its very end goes unseen).
    await new Promise((r) => setTimeout(r, 25));
    return { value, maxDelayMs: h.max / 1e6, peakHeapGrowthMiB: (peak - base) / MiB };
  } finally {
    h.disable();
    clearInterval(sampler);
  }
}

/**
 * The bounds every hostile test holds the agent to. Before the fixes: 15 s of blocked loop for 8,000 characters (1 MiB
 * would never end), GiB heaps. Measured after them: tens of ms; the bound leaves room for a machine whose cores
 * other processes share (a GC pause or a descheduled process shows as loop delay too).
 */
export const MAX_LOOP_DELAY_MS = 1_000;
export const MAX_HEAP_GROWTH_MIB = 64;

export function assertBounded(w: Watched<unknown>, what: string, heapMiB = MAX_HEAP_GROWTH_MIB): void {
  if (process.env.MCP_TEST_VERBOSE)
    console.log(`${what}: loop delay ≤ ${w.maxDelayMs.toFixed(0)} ms, heap +${w.peakHeapGrowthMiB.toFixed(1)} MiB`);
  assert.ok(w.maxDelayMs < MAX_LOOP_DELAY_MS, `${what}: the event loop was blocked ${w.maxDelayMs.toFixed(0)} ms`);
  assert.ok(w.peakHeapGrowthMiB < heapMiB, `${what}: the heap grew ${w.peakHeapGrowthMiB.toFixed(1)} MiB`);
}

/** A BridgeContext that records log lines and reported failures. */
export function recordingContext(bus: BusClient): BridgeContext & { logger: RecordingLogger; failures: Error[] } {
  const failures: Error[] = [];
  return { bus, logger: new RecordingLogger(), failures, reportFailure: (e: Error) => failures.push(e) };
}

/** A hostile-server bridge over stdio with `env` for the server and `config` over the defaults. */
export function stdioBridge(name: string, env: Record<string, string>, config: Record<string, unknown> = {}): McpToolBridge {
  return new McpToolBridge(name, { command: process.execPath, args: [HOSTILE, 'stdio'], env, ...config });
}

/** Starts the hostile server over Streamable HTTP (loopback, a free port) with `env`. */
export async function spawnHostileHttp(env: Record<string, string> = {}): Promise<SpawnedServer> {
  const child = spawn(process.execPath, [HOSTILE, 'http'], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hostile server did not start: ${out}`)), 10_000);
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening on port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`hostile server exited with ${code}: ${out}`));
    });
  });
  return { child, port, output: () => out, kill: () => killChild(child) };
}

/** The sibling that must keep answering whatever its neighbours do. */
export async function assertSiblingAnswers(caller: BusClient, prefix: string): Promise<void> {
  const r = await caller.invoke<McpToolResult>(`${prefix}.ok`, {}, { timeout: 5_000 });
  assert.equal(r.text, 'ok');
}

/** The bridge is up and reported no failure to supervision. */
export function assertHealthy(bridge: McpToolBridge, ctx: { failures: Error[] }): void {
  assert.equal(bridge.status, 'ready');
  assert.deepEqual(
    ctx.failures.map((e) => e.message),
    [],
  );
}
