import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * nats-server processes for tests: on free loopback ports (never 4222: a system server runs there), from a
 * generated config file, ready when the log says so (and, in a cluster, when every route is up).
 *
 * @example
 * const server = await NatsServer.start({ maxPayload: 64 * 1024 });
 * after(() => server.stop());
 */
export interface NatsServerOptions {
  /** `max_payload` in bytes (server default 1 MiB). */
  maxPayload?: number;
  /** Config text appended verbatim, e.g. an `authorization { … }` block. */
  extraConfig?: string;
  /** An `authorization { … }` block (e.g. from natsServerAuthorization()), its `$VARIABLES` read from `env`. */
  authorization?: string;
  /** Environment of the server process besides this process's own (passwords the authorization block names). */
  env?: Record<string, string>;
  /** Server name (shows in logs; required to be unique in a cluster). */
  name?: string;
  /** Cluster membership: this node's route port and the route URLs of the others. */
  cluster?: { name: string; port: number; routes: string[] };
  /** Client port; a free one by default (a restart keeps it). */
  port?: number;
  /** JetStream on, its store in this server's own temporary directory (removed by `stop`, or by `loseDisk`). */
  jetstream?: boolean;
}

const BINARY = process.env.NATS_SERVER_BIN ?? 'nats-server';
const READY_TIMEOUT = 10_000;
// $1 binary, $2 config. Each line on stdin names a signal to send (STOP/CONT freeze and thaw it); EOF kills it.
// Exits with the server.
const WATCHDOG =
  'exec 3<&0; "$1" -c "$2" </dev/null & pid=$!; (while read sig <&3; do kill -"${sig:-KILL}" "$pid"; done; kill -KILL "$pid") >/dev/null 2>&1 & wait "$pid"';
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) {
    try {
      p.stdin?.end('KILL\n');
    } catch {
      // already gone
    }
  }
});

/** A free TCP port on 127.0.0.1 (asks the kernel for one; never 4222, nor one of `besides`). */
export async function freePort(besides: number[] = []): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(p));
      });
    });
    if (port !== 4222 && port !== 0 && !besides.includes(port)) return port;
  }
}

export class NatsServer {
  private proc?: ChildProcess;
  private log = '';
  private readonly dir: string;
  /** Stopped by `freeze` (its monitoring does not answer either). */
  frozen = false;
  private readonly configFile: string;

  private constructor(
    readonly port: number,
    readonly monitorPort: number,
    private readonly options: NatsServerOptions,
  ) {
    this.dir = mkdtempSync(join(tmpdir(), 'nats-test-'));
    this.configFile = join(this.dir, 'nats.conf');
    writeFileSync(this.configFile, this.configText());
  }

  /** Starts a server and resolves once it accepts clients. */
  static async start(options: NatsServerOptions = {}): Promise<NatsServer> {
    // A port found free can be taken before the server binds it (test files run in parallel, and the kernel may
    // hand the same free port out twice): on "address already in use", try again on other ports.
    for (let attempt = 1; ; attempt++) {
      const taken = options.cluster ? [options.cluster.port] : [];
      const port = options.port ?? (await freePort(taken));
      const server = new NatsServer(port, await freePort([port, ...taken]), options);
      try {
        await server.spawn();
        return server;
      } catch (err) {
        await server.stop();
        if (attempt >= 3 || options.port !== undefined || !/address already in use/.test(String((err as Error).message))) throw err;
      }
    }
  }

  /** The server's name (JetStream reports stream leaders and replicas by it). */
  get name(): string {
    return this.options.name ?? `test-${this.port}`;
  }

  /** Where this server's JetStream keeps its data (`jetstream: true`). */
  get storeDir(): string {
    return join(this.dir, 'js');
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return !!this.proc && this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** What the server has logged so far. */
  get output(): string {
    return this.log;
  }

  private configText(): string {
    const o = this.options;
    const lines = [`listen: 127.0.0.1:${this.port}`, `http: 127.0.0.1:${this.monitorPort}`, `server_name: ${this.name}`];
    if (o.jetstream) lines.push(`jetstream { store_dir: ${JSON.stringify(this.storeDir)} }`);
    if (o.maxPayload !== undefined) lines.push(`max_payload: ${o.maxPayload}`);
    if (o.cluster) {
      lines.push(
        'cluster {',
        `  name: ${o.cluster.name}`,
        `  listen: 127.0.0.1:${o.cluster.port}`,
        `  routes: [${o.cluster.routes.map((r) => JSON.stringify(r)).join(', ')}]`,
        '}',
      );
    }
    if (o.extraConfig) lines.push(o.extraConfig);
    if (o.authorization) lines.push(o.authorization);
    return lines.join('\n') + '\n';
  }

  private spawn(): Promise<void> {
    this.log = '';
    // The server runs under a tiny shell watchdog that kills it when our end of its stdin closes, so a test
    // process that dies (even by SIGKILL, e.g. a runner timeout) never leaves a nats-server behind.
    const proc = spawn('sh', ['-c', WATCHDOG, 'nats-watchdog', BINARY, this.configFile], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...this.options.env },
    });
    this.proc = proc;
    live.add(proc);
    proc.once('exit', () => live.delete(proc));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new Error(`nats-server on port ${this.port} not ready after ${READY_TIMEOUT} ms:\n${this.log}`)),
        READY_TIMEOUT,
      );
      const onData = (chunk: Buffer) => {
        this.log += chunk.toString();
        if (this.log.includes('Server is ready')) finish();
      };
      const onExit = (code: number | null) => finish(new Error(`nats-server exited (${code}) before it was ready:\n${this.log}`));
      const onError = (err: Error) => finish(new Error(`cannot start ${BINARY}: ${err.message}`));
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        proc.stderr?.off('data', onData);
        proc.stdout?.off('data', onData);
        proc.off('exit', onExit);
        proc.off('error', onError);
        // keep collecting the log (and draining the pipes) after readiness
        proc.stderr?.on('data', (c: Buffer) => (this.log += c.toString()));
        proc.stdout?.on('data', (c: Buffer) => (this.log += c.toString()));
        if (err) reject(err);
        else resolve();
      };
      proc.stderr?.on('data', onData);
      proc.stdout?.on('data', onData);
      proc.once('exit', onExit);
      proc.once('error', onError);
    });
  }

  /** Kills the process (SIGKILL by default: a crash, no lame-duck goodbye) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    if (!this.running) {
      proc.stdin?.end(); // lets the watchdog's reader finish
      return;
    }
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    this.frozen = false;
    // A frozen server gets the signal too (and SIGKILL ends it either way); EOF makes sure it goes.
    proc.stdin?.write(`${signal.replace(/^SIG/, '')}\n`);
    if (signal !== 'SIGKILL') proc.stdin?.write('CONT\n');
    await exited;
    proc.stdin?.end();
  }

  /** Freezes the server (SIGSTOP): its sockets stay open and nothing answers, as a hung or paused machine. */
  freeze(): void {
    this.frozen = true;
    this.proc?.stdin?.write('STOP\n');
  }

  /** Thaws a frozen server (SIGCONT). */
  thaw(): void {
    this.frozen = false;
    this.proc?.stdin?.write('CONT\n');
  }

  /** Kills the server and removes its JetStream store: a node that comes back with an empty disk. */
  async loseDisk(): Promise<void> {
    await this.kill();
    rmSync(this.storeDir, { recursive: true, force: true });
  }

  /** Kills and starts the server again on the same ports with the same config. */
  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  /** Starts the server again after `kill` (same ports and config). */
  async startAgain(): Promise<void> {
    if (this.running) return;
    await this.spawn();
  }

  /** Number of routes this node has (monitoring endpoint). */
  async routes(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}/routez`);
    const body = (await res.json()) as { num_routes?: number };
    return body.num_routes ?? 0;
  }

  /** JetStream's view from this node (monitoring endpoint): the meta group's leader and size, undefined while none. */
  async metaLeader(): Promise<{ leader?: string; size: number } | undefined> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}/jsz`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as { meta_cluster?: { leader?: string; cluster_size?: number } };
    const m = body.meta_cluster;
    return m?.leader ? { leader: m.leader, size: m.cluster_size ?? 0 } : undefined;
  }

  /** Number of client connections (monitoring endpoint). */
  async connections(): Promise<number> {
    const res = await fetch(`http://127.0.0.1:${this.monitorPort}/connz`);
    const body = (await res.json()) as { num_connections?: number };
    return body.num_connections ?? 0;
  }

  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A cluster of `size` nodes with full-mesh routes; resolves when every node sees all the others. */
export async function startCluster(size = 3, options: Omit<NatsServerOptions, 'cluster' | 'name' | 'port'> = {}): Promise<NatsServer[]> {
  const routePorts: number[] = [];
  for (let i = 0; i < size; i++) routePorts.push(await freePort());
  const name = `c${routePorts[0]}`;
  const nodes: NatsServer[] = [];
  try {
    for (let i = 0; i < size; i++) {
      nodes.push(
        await NatsServer.start({
          ...options,
          name: `${name}-n${i}`,
          cluster: { name, port: routePorts[i], routes: routePorts.filter((_, j) => j !== i).map((p) => `nats://127.0.0.1:${p}`) },
        }),
      );
    }
    await waitForRoutes(nodes, size - 1);
    if (options.jetstream) await waitForMetaLeader(nodes);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()));
    throw err;
  }
  return nodes;
}

/** Polls the monitoring endpoints until every running node has at least `expected` routes. */
export async function waitForRoutes(nodes: NatsServer[], expected: number, timeout = 10_000): Promise<void> {
  const until = Date.now() + timeout;
  for (;;) {
    const counts = await Promise.all(nodes.filter((n) => n.running && !n.frozen).map((n) => n.routes().catch(() => 0)));
    if (counts.every((c) => c >= expected)) return;
    if (Date.now() > until) throw new Error(`cluster routes not up after ${timeout} ms: ${counts.join(', ')}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Polls until every running node names the same JetStream meta leader (a running node), so streams can be created
 * and placed: the cluster has elected one after a start or a lost leader. Returns the leader's name.
 */
export async function waitForMetaLeader(nodes: NatsServer[], timeout = 20_000): Promise<string> {
  const until = Date.now() + timeout;
  for (;;) {
    const running = nodes.filter((n) => n.running && !n.frozen);
    const views = await Promise.all(running.map((n) => n.metaLeader().catch(() => undefined)));
    const leader = views[0]?.leader;
    if (leader && views.every((v) => v?.leader === leader) && running.some((n) => n.name === leader)) return leader;
    if (Date.now() > until) throw new Error(`no JetStream meta leader after ${timeout} ms: ${JSON.stringify(views)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
