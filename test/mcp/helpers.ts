import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { BusClient, BusError, type BusLogger, MemoryBroker, MemoryTransport } from '@openagentio/nestjs';
import type { BridgeContext } from '@openagentio/nestjs-bridges';

/** Repository root (the compiled test runs from dist/test/mcp). */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const EVERYTHING = join(ROOT, 'node_modules/@modelcontextprotocol/server-everything/dist/index.js');
export const MEMORY = join(ROOT, 'node_modules/@modelcontextprotocol/server-memory/dist/index.js');
export const FILESYSTEM = join(ROOT, 'node_modules/@modelcontextprotocol/server-filesystem/dist/index.js');

export const quietLogger: BusLogger = {
  log: () => {},
  warn: (m) => {
    if (process.env.MCP_TEST_VERBOSE) console.warn(m);
  },
  error: (m) => console.error(m),
  debug: (m) => {
    if (process.env.MCP_TEST_VERBOSE) console.debug(m);
  },
};

export async function newBus(broker: MemoryBroker, agentId: string): Promise<BusClient> {
  const bus = new BusClient(new MemoryTransport({ broker, validate: true }), { agentId, logger: quietLogger });
  await bus.connect();
  return bus;
}

/** A BridgeContext that records the failures a bridge reports (what supervision would act on). */
export function bridgeContext(bus: BusClient): BridgeContext & { failures: Error[]; failed: Promise<Error> } {
  const failures: Error[] = [];
  let signal!: (e: Error) => void;
  const failed = new Promise<Error>((r) => {
    signal = r;
  });
  return {
    bus,
    logger: quietLogger,
    failures,
    failed,
    reportFailure: (err: Error) => {
      failures.push(err);
      signal(err);
    },
  };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export interface SpawnedServer {
  child: ChildProcess;
  port: number;
  output: () => string;
  kill(): Promise<void>;
}

/** Spawns server-everything in `streamableHttp` or `sse` mode on a free port and waits for its listening line. */
export async function spawnEverythingHttp(mode: 'streamableHttp' | 'sse', port?: number): Promise<SpawnedServer> {
  const p = port ?? (await freePort());
  const child = spawn(process.execPath, [EVERYTHING, mode], {
    env: { ...process.env, PORT: String(p) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server-everything ${mode} did not start: ${out}`)), 15_000);
    const onData = (b: Buffer) => {
      out += b.toString();
      if (/listening on port|running on port/i.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server-everything ${mode} exited with ${code}: ${out}`));
    });
  });
  return {
    child,
    port: p,
    output: () => out,
    kill: () => killChild(child),
  };
}

export function killChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
    }, 3000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls `cond` until it holds or `ms` pass. */
export { until as waitFor } from '../support/bus-fixture.js';

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Awaits a call that must fail and returns its BusError. */
export async function busError(p: Promise<unknown>): Promise<BusError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof BusError, `expected BusError, got ${err}`);
    return err;
  }
  assert.fail('expected the call to fail');
}
