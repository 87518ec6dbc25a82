import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Metrics } from '../lib/results.js';

const child = fileURLToPath(new URL('../scale-child.js', import.meta.url));

/**
 * Runs the scale probe in a fresh process (so RSS is not the bench's history); metrics scale.rssKB, scale.heapKB.
 * `nodeFlags`: extra flags for that process (the young-generation row runs it with `--max-semi-space-size=16`).
 */
export async function scaleSuite(
  key: string,
  where: string,
  n: number,
  metrics: Metrics,
  log: (s: string) => void,
  nodeFlags: string[] = [],
): Promise<void> {
  const out = await new Promise<string>((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', ...nodeFlags, child, where, String(n)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const kill = setTimeout(() => p.kill('SIGKILL'), 180_000);
    p.on('exit', (code) => {
      clearTimeout(kill);
      if (code === 0) resolve(stdout);
      else reject(new Error(`scale child exited ${code}: ${stderr.trim().slice(0, 500)}`));
    });
  });
  const line = out.split('\n').find((l) => l.startsWith('SCALE '));
  if (!line) throw new Error(`scale child printed no result: ${out.slice(0, 300)}`);
  const r = JSON.parse(line.slice(6)) as {
    rssPerStreamKB: number;
    heapPerStreamKB: number;
    externalPerStreamKB: number;
    openAtMeasure: number;
    openMs: number;
    rssAfterMB: number;
    abortedBeforeCancel?: Record<string, number>;
  };
  if (r.openAtMeasure < n) {
    metrics.notes.push(
      `scale ${key}: only ${r.openAtMeasure} of ${n} streams were still open when measured; aborted: ${JSON.stringify(r.abortedBeforeCancel)}`,
    );
  }
  metrics.put(key, 'scale.rssKB', r.rssPerStreamKB);
  metrics.put(key, 'scale.heapKB', r.heapPerStreamKB);
  metrics.put(key, 'scale.openMs', r.openMs);
  log(
    `  scale ${key.padEnd(10)} ${n} open streams (${r.openAtMeasure} open at measure, opened in ${r.openMs} ms): RSS ${r.rssPerStreamKB.toFixed(2)} KB/stream, heap ${r.heapPerStreamKB.toFixed(2)} KB/stream, RSS total ${r.rssAfterMB.toFixed(0)} MB`,
  );
}
