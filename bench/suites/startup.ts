import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { freePort } from '../lib/nats-server.js';
import { median, sleep } from '../lib/measure.js';
import type { Metrics } from '../lib/results.js';
import type { BenchConfig } from '../config.js';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (dist/bench/suites → ../../..). */
const root = join(here, '..', '..', '..');

/**
 * Start-up (`--only=startup`):
 * - `npm start` on a built tree (its `tsc -b` finds nothing to build) and `node dist/src/main.js` alone, each in a
 *   fresh process on the bench's NATS server, until the demo's first answer to `POST /demo/ask`
 *   (startup.npmStart, startup.node: ms from spawn);
 * - the cost of BusModule over a bare Nest microservice: `dist/bench/startup-child.js` started as a bare
 *   Transport.NATS microservice and as a BusServer one (BusModule.forRoot over NATS), alternately, each until it
 *   listens (startup.nest / startup.bus: ms from spawn; .listen: createMicroservice → listen() inside the process).
 * Medians of `samples` starts each.
 */
export async function startupSuite(natsUrl: string, cfg: BenchConfig, metrics: Metrics, log: (s: string) => void): Promise<void> {
  const samples = cfg.quick ? 2 : 3;
  const t: Record<string, number[]> = { npmStart: [], node: [], nest: [], bus: [], 'nest.listen': [], 'bus.listen': [] };
  for (let i = 0; i < samples; i++) {
    for (const kind of i % 2 ? ['bus', 'nest'] : ['nest', 'bus']) {
      const r = await microservice(kind, natsUrl);
      t[kind].push(r.wall);
      t[`${kind}.listen`].push(r.listen);
    }
    t.node.push(await demoFirstAnswer(process.execPath, ['dist/src/main.js'], natsUrl));
    t.npmStart.push(await demoFirstAnswer('npm', ['start', '--silent'], natsUrl));
  }
  for (const [k, v] of Object.entries(t)) metrics.put('startup', k, median(v));
  log(
    `  startup: npm start → first answer ${fmt(t.npmStart)} ms, node dist/src/main.js ${fmt(t.node)} ms; bare Nest microservice ${fmt(t.nest)} ms (listen ${fmt(t['nest.listen'])}), with BusModule ${fmt(t.bus)} ms (listen ${fmt(t['bus.listen'])})`,
  );
}

const fmt = (v: number[]) => Math.round(median(v)).toString();

/** Forks startup-child.js; resolves with ms from spawn to its ready line, and its own listen time. */
async function microservice(kind: string, natsUrl: string): Promise<{ wall: number; listen: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [join(root, 'dist', 'bench', 'startup-child.js'), kind, natsUrl], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const line = await firstLine(child, 60_000);
    const wall = performance.now() - t0;
    const r = JSON.parse(line) as { listen: number };
    return { wall, listen: r.listen };
  } finally {
    await stop(child);
  }
}

/** Starts the demo app with `cmd args` on a free port and NATS; resolves with ms from spawn to its first 200 answer. */
async function demoFirstAnswer(cmd: string, args: string[], natsUrl: string): Promise<number> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(cmd, args, {
    cwd: root,
    env: { ...process.env, PORT: String(port), NATS_URL: natsUrl, AGENT_ID: `bench-startup-${port}` },
    stdio: ['ignore', 'ignore', 'inherit'],
    detached: true,
  });
  let exited = false;
  child.on('exit', () => (exited = true));
  try {
    const until = Date.now() + 90_000;
    while (Date.now() < until && !exited) {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/demo/ask`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{"text":"NATS is fast"}',
          signal: AbortSignal.timeout(5000),
        });
        await res.arrayBuffer();
        if (res.ok) return performance.now() - t0;
      } catch {
        // not listening yet
      }
      await sleep(20);
    }
    throw new Error(`${cmd} ${args.join(' ')}: no answer on port ${port}${exited ? ' (it exited)' : ' within 90 s'}`);
  } finally {
    // npm start runs a shell and node under it: end the whole process group.
    killGroup(child, 'SIGTERM');
    await waitExit(child, 10_000);
    killGroup(child, 'SIGKILL');
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!child.pid) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function firstLine(child: ChildProcess, ms: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error('start-up child did not get ready')), ms);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf('\n');
      if (i >= 0) {
        clearTimeout(timer);
        resolve(buf.slice(0, i));
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`start-up child exited with ${code}`));
    });
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await waitExit(child, 5000);
}

function waitExit(child: ChildProcess, ms: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      resolve();
    }, ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
