import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { CHROMIUM } from '../demo/demo-page-fixture.js';
import { startDemo } from '../demo/demo-process.js';
import { freePort, NatsServer } from '../support/nats-server.js';

// Browser globals used inside page callbacks (the project compiles without the DOM lib).
declare const document: any;

/** Where the tests put the screenshots docs/console.md shows. */
export const SHOTS = new URL('../../../docs/console/', import.meta.url).pathname;

/** How often the console sweeps in these tests (ms): short, so a dead worker fades within a second or two. */
export const REFRESH_MS = 500;

/**
 * The demo split over three processes on one NATS server (workers, writer, router with the gateway and the
 * console), as test/demo/demo-processes.test.ts runs it, and the console open in headless Chromium.
 */
export class ConsoleCluster {
  nats!: NatsServer;
  base = '';
  browser!: Browser;
  page!: Page;
  workers!: ChildProcess;
  readonly procs: ChildProcess[] = [];
  private jsDir = '';
  private common: Record<string, string> = {};

  async start(): Promise<void> {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM} (set CHROMIUM_PATH)`);
    mkdirSync(SHOTS, { recursive: true });
    this.jsDir = mkdtempSync(join(tmpdir(), 'console-js-'));
    this.nats = await NatsServer.start({ extraConfig: `jetstream { store_dir: ${JSON.stringify(this.jsDir)} }` });
    this.common = { NATS_URL: this.nats.url, NODE_ENV: 'test', TASKS_ACK_WAIT_MS: '4000', CONSOLE_REFRESH_MS: String(REFRESH_MS) };
    const routerPort = await freePort();
    const started = await Promise.all([this.startWorkers(), this.startRole('writer')]);
    this.procs.push(...started);
    this.procs.push(await this.startRole('router', routerPort));
    this.base = `http://127.0.0.1:${routerPort}`;
    this.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
    });
    this.page = await this.browser.newPage({ viewport: { width: 1300, height: 1000 } });
    await this.page.goto(`${this.base}/console`);
    await this.page.waitForFunction(() => document.getElementById('feed-state')?.textContent === 'live', undefined, { timeout: 10_000 });
  }

  /** A workers process (again, after one was killed). */
  async startWorkers(): Promise<ChildProcess> {
    this.workers = await this.startRole('workers');
    this.procs.push(this.workers);
    return this.workers;
  }

  /** Another workers process beside the first (a second instance of the agent). */
  async startExtraWorkers(): Promise<ChildProcess> {
    const child = await this.startRole('workers');
    this.procs.push(child);
    return child;
  }

  async stop(): Promise<void> {
    await this.browser?.close();
    for (const p of this.procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
    await Promise.all(
      this.procs.map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.once('exit', r)))),
    );
    await this.nats?.stop();
    if (this.jsDir) rmSync(this.jsDir, { recursive: true, force: true });
  }

  /** One turn of the demo through the router's HTTP entry: it calls the three workers and the writer. */
  async turn(session: string, text = 'NATS is fast. Processes talk.'): Promise<void> {
    const res = await fetch(`${this.base}/demo/ask`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-session-id': session },
      body: JSON.stringify({ text }),
    });
    if (res.status !== 200) throw new Error(`turn ${session}: ${res.status} ${await res.text()}`);
  }

  private async startRole(role: string, port?: number): Promise<ChildProcess> {
    const { child } = await startDemo({ ...this.common, AGENTS: role, AGENT_ID: role, PORT: String(port ?? (await freePort())) });
    return child;
  }
}
