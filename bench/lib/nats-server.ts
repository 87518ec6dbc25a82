import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A nats-server the bench started itself (never the system one on 4222). Killed on stop() and on process exit. */
export interface BenchNatsServer {
  readonly url: string;
  readonly port: number;
  readonly maxPayload: number;
  readonly pid: number;
  stop(): Promise<void>;
}

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';
const children = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of children) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  });
}

/**
 * A detached shell that kills the server once this process is gone, whatever way it went (SIGKILL, a
 * `timeout`, a crash), so no nats-server outlives the bench. No signal handlers here: a bench stuck in a
 * busy loop must stay killable by SIGTERM.
 */
function watchdog(serverPid: number): void {
  const script = `while kill -0 ${process.pid} 2>/dev/null && kill -0 ${serverPid} 2>/dev/null; do sleep 1; done; kill -9 ${serverPid} 2>/dev/null; exit 0`;
  const w = spawn('sh', ['-c', script], { detached: true, stdio: 'ignore' });
  w.unref();
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tcpConnect({ host: '127.0.0.1', port }, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

/** Starts nats-server on 127.0.0.1 and a free port; `maxPayload` in bytes (server default 1 MB); `jetstream` with a store of its own. */
export async function startNatsServer(
  opts: {
    maxPayload?: number;
    jetstream?: boolean;
    /** Cluster membership (name, this node's route port, the other nodes' routes) and a monitoring port. */
    cluster?: { name: string; node: string; port: number; routes: number[]; http: number };
    /** More configuration (an `authorization { … }` block). */
    extraConfig?: string;
  } = {},
): Promise<BenchNatsServer> {
  installExitHook();
  const port = await freePort();
  const maxPayload = opts.maxPayload ?? 1024 * 1024;
  const dir = mkdtempSync(join(tmpdir(), 'oaio-bench-nats-'));
  const conf = join(dir, 'nats.conf');
  const js = opts.jetstream ? `jetstream { store_dir: ${JSON.stringify(join(dir, 'js'))} }\n` : '';
  const c = opts.cluster;
  const cluster = c
    ? `server_name: ${c.node}\nhttp: "127.0.0.1:${c.http}"\ncluster { name: ${c.name}, listen: "127.0.0.1:${c.port}", routes: [${c.routes
        .map((r) => `"nats://127.0.0.1:${r}"`)
        .join(', ')}] }\n`
    : '';
  writeFileSync(
    conf,
    `listen: "127.0.0.1:${port}"\nmax_payload: ${maxPayload}\nmax_pending: 268435456\n${js}${cluster}${opts.extraConfig ?? ''}\n`,
  );
  const child = spawn(NATS_SERVER, ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  if (child.pid) watchdog(child.pid);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 4000) stderr += d.toString();
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    children.delete(child);
  });
  const stop = async () => {
    if (!exited) {
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 2000);
      await gone;
      clearTimeout(t);
    }
    children.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };
  const until = Date.now() + 5000;
  while (!(await canConnect(port))) {
    if (exited || Date.now() > until) {
      await stop();
      throw new Error(`nats-server did not start on ${port}: ${stderr.trim()}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return { url: `nats://127.0.0.1:${port}`, port, maxPayload, pid: child.pid ?? -1, stop };
}

/**
 * A JetStream cluster of `size` nodes on loopback (full-mesh routes), resolved once every node names the same
 * JetStream meta leader (streams can be placed then).
 */
export async function startNatsCluster(size = 3): Promise<BenchNatsServer[]> {
  const routes: number[] = [];
  const http: number[] = [];
  for (let i = 0; i < size; i++) {
    routes.push(await freePort());
    http.push(await freePort());
  }
  const name = `bench${routes[0]}`;
  const nodes: BenchNatsServer[] = [];
  try {
    for (let i = 0; i < size; i++) {
      const others = routes.filter((_, j) => j !== i);
      nodes.push(
        await startNatsServer({
          jetstream: true,
          cluster: { name, node: `${name}-n${i}`, port: routes[i], routes: others, http: http[i] },
        }),
      );
    }
    const until = Date.now() + 30_000;
    for (;;) {
      const leaders = await Promise.all(
        http.map((p) =>
          fetch(`http://127.0.0.1:${p}/jsz`)
            .then((r) => r.json() as Promise<{ meta_cluster?: { leader?: string } }>)
            .then((b) => b.meta_cluster?.leader)
            .catch(() => undefined),
        ),
      );
      if (leaders[0] && leaders.every((l) => l === leaders[0])) return nodes;
      if (Date.now() > until) throw new Error(`no JetStream meta leader: ${leaders.join(', ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
}
