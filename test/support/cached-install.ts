import { spawn } from 'node:child_process';

const installs = new Map<string, Promise<string>>();

/**
 * What a `scripts/install-*.sh` installer prints as its last line (a path in ~/.cache/openagentio-nest), once per
 * process: the installers return at once when their cache is there, and log to our stderr when they install. A
 * failed install is forgotten, so the next caller tries again. `override`: an environment variable that names the
 * path instead (a peer installed elsewhere).
 */
export function cachedInstall(installer: string, override?: string): Promise<string> {
  const given = override ? process.env[override] : undefined;
  if (given) return Promise.resolve(given);
  let p = installs.get(installer);
  if (!p) {
    p = new Promise<string>((resolve, reject) => {
      const proc = spawn('bash', [installer], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      proc.stdout.on('data', (c: Buffer) => (out += c.toString()));
      proc.once('error', reject);
      proc.once('exit', (code) => {
        const path = out.trim().split('\n').pop() ?? '';
        if (code === 0 && path) resolve(path);
        else reject(new Error(`${installer} failed (exit ${code}); its log is above`));
      });
    });
    installs.set(installer, p);
    p.catch(() => installs.delete(installer));
  }
  return p;
}
