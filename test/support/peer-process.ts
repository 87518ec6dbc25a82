import { spawn, type ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';

export type PeerLine = Record<string, any>;

// A peer process runs under a tiny shell watchdog that kills it when our end of the control pipe (fd 3) closes,
// so a test process that dies (even by SIGKILL) never leaves a peer behind. Each line on fd 3 names a signal to send
// (several: a SIGTERM that hangs is followed by a SIGKILL). The peer keeps our stdin pipe (saved on fd 4 first: an
// asynchronous command's stdin is /dev/null otherwise) for the callers' commands; it exits on its own when
// stdin closes.
const WATCHDOG =
  'exec 4<&0; "$@" <&4 3<&- 4<&- & pid=$!; exec 4<&-; (while read sig <&3; do kill -"$sig" "$pid"; done; kill -KILL "$pid") >/dev/null 2>&1 & wait "$pid"';
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const p of live) {
    try {
      (p.stdio[3] as Writable | null)?.end();
    } catch {
      // already gone
    }
  }
});

/**
 * A peer process of the interop tests and the bench (the upstream Python SDK's scripts, the Go peer programs): it
 * prints JSON lines, each kept in `lines` (envelopes as the peer read them), `waitFor` awaits one, `run` sends a
 * command and awaits its `done` line. It runs under a watchdog, so a test process that dies never leaves it behind.
 */
export class PeerProcess {
  /** Every JSON line the script printed, in order. */
  readonly lines: PeerLine[] = [];
  private stderr = '';
  private other = '';
  private waiters: Array<{ pred: (l: PeerLine) => boolean; resolve: (l: PeerLine) => void }> = [];
  protected readonly exited: Promise<void>;
  private nextId = 0;

  protected constructor(
    /** What the peer runs (a script or program name), for messages. */
    readonly script: string,
    private readonly proc: ChildProcess,
  ) {
    live.add(proc);
    proc.stdin?.on('error', () => {}); // EPIPE once the peer is gone
    (proc.stdio[3] as Writable).on('error', () => {});
    this.exited = new Promise((resolve) =>
      proc.once('exit', () => {
        live.delete(proc);
        (proc.stdio[3] as Writable).end(); // lets the watchdog's reader finish
        resolve();
      }),
    );
    let partial = '';
    proc.stdout!.on('data', (c: Buffer) => {
      partial += c.toString();
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const text = partial.slice(0, nl);
        partial = partial.slice(nl + 1);
        this.onLine(text);
      }
    });
    proc.stderr!.on('data', (c: Buffer) => (this.stderr = (this.stderr + c.toString()).slice(-32 * 1024)));
  }

  /**
   * Runs `argv` (an executable and its arguments) under the watchdog in `cwd`; resolves once it printed its
   * `{"type":"ready"}` line, and fails (killing it) when it exits first or takes longer than `readyTimeoutMs`.
   */
  protected static async launch<P extends PeerProcess>(
    make: (proc: ChildProcess) => P,
    name: string,
    argv: string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
    readyTimeoutMs: number,
  ): Promise<P> {
    const proc = spawn('sh', ['-c', WATCHDOG, 'peer-watchdog', ...argv], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], cwd, env });
    const peer = make(proc);
    try {
      await Promise.race([
        peer.waitFor((l) => l.type === 'ready', readyTimeoutMs),
        peer.exited.then(() => {
          throw new Error(`${name} exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${peer.output()}`);
        }),
      ]);
    } catch (err) {
      await peer.kill();
      throw err;
    }
    return peer;
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** The lines matching `pred` so far. */
  where(pred: (l: PeerLine) => boolean): PeerLine[] {
    return this.lines.filter(pred);
  }

  /** Resolves with the first line (already printed or to come) matching `pred`; rejects after `timeoutMs`. */
  waitFor(pred: (l: PeerLine) => boolean, timeoutMs = 10_000, what = 'a matching line'): Promise<PeerLine> {
    const hit = this.lines.find(pred);
    if (hit) return Promise.resolve(hit);
    return this.next(pred, timeoutMs, what);
  }

  /** The next line to come matching `pred` (lines already printed are not looked at). */
  private next(pred: (l: PeerLine) => boolean, timeoutMs: number, what: string): Promise<PeerLine> {
    return new Promise((resolve, reject) => {
      const waiter = {
        pred,
        resolve: (l: PeerLine) => {
          clearTimeout(timer);
          resolve(l);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        reject(new Error(`${this.script}: no ${what} within ${timeoutMs} ms; its output:\n${this.output()}`));
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  /** Writes one JSON line to the script's stdin. */
  send(command: Record<string, unknown>): void {
    this.proc.stdin!.write(`${JSON.stringify(command)}\n`);
  }

  /**
   * The callers (py_caller.py, the Go caller): sends `command` with a fresh id and resolves with its `done` line and the frames printed before
   * it; rejects if it does not finish within `timeoutMs`.
   */
  async run(command: Record<string, unknown>, timeoutMs = 15_000): Promise<{ done: PeerLine; frames: PeerLine[] }> {
    const id = `c${++this.nextId}`;
    this.send({ ...command, id });
    const done = await this.waitFor((l) => l.id === id && l.type === 'done', timeoutMs, `done line for ${JSON.stringify(command)}`);
    return { done, frames: this.where((l) => l.id === id && l.type === 'frame') };
  }

  /** What the script printed that was not a JSON line, and its stderr (for failure messages). */
  output(): string {
    const tail = (s: string) => s.trimEnd().split('\n').slice(-40).join('\n');
    const lines = this.lines.slice(-20).map((l) => JSON.stringify(l).slice(0, 400));
    return `--- last JSON lines ---\n${lines.join('\n')}\n--- other stdout ---\n${tail(this.other)}\n--- stderr ---\n${tail(this.stderr)}`;
  }

  /** Sends `signal` (SIGKILL by default) and waits for the process to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (!this.running) {
      (this.proc.stdio[3] as Writable).end();
      return this.exited;
    }
    (this.proc.stdio[3] as Writable).write(`${signal.replace(/^SIG/, '')}\n`);
    await this.exited;
  }

  /** Closes the script's stdin (it closes its bus and exits), SIGTERM after 3 s, SIGKILL after 3 more. */
  async stop(): Promise<void> {
    if (!this.running) return this.kill();
    this.proc.stdin!.end();
    const gone = (ms: number) =>
      Promise.race([this.exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
    if (await gone(3000)) return;
    void this.kill('SIGTERM');
    if (await gone(3000)) return;
    await this.kill('SIGKILL');
  }

  private onLine(text: string): void {
    let line: PeerLine;
    try {
      line = JSON.parse(text) as PeerLine;
    } catch {
      this.other = (this.other + text + '\n').slice(-32 * 1024);
      return;
    }
    if (!line || typeof line !== 'object') return;
    this.lines.push(line);
    this.waiters = this.waiters.filter((w) => {
      if (!w.pred(line)) return true;
      w.resolve(line);
      return false;
    });
  }
}
