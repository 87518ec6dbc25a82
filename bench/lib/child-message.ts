import type { ChildProcess } from 'node:child_process';
import { withTimeout } from './measure.js';

/** The next IPC message from `child` that `want` accepts; rejects when the child exits first or after 30 s. */
export function childMessage<T = unknown>(child: ChildProcess, want: (m: unknown) => boolean, what: string): Promise<T> {
  return withTimeout(
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: unknown) => {
        if (!want(m)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(m as T);
      };
      const onExit = (code: number | null) => reject(new Error(`child exited (${code}) before ${what}`));
      child.on('message', onMessage);
      child.on('exit', onExit);
    }),
    30_000,
    what,
  );
}

/** bench/split-responder.js's CPU protocol: `mark` starts counting, `report` answers the µs of CPU since. */
export async function markCpu(child: ChildProcess): Promise<void> {
  child.send('mark');
  await childMessage(child, (m) => m === 'marked', 'mark');
}

export async function reportCpu(child: ChildProcess): Promise<number> {
  child.send('report');
  const r = await childMessage<{ cpuUs: number }>(child, (m) => typeof (m as { cpuUs?: unknown })?.cpuUs === 'number', 'report');
  return r.cpuUs;
}
