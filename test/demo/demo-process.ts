import { spawn, type ChildProcess } from 'node:child_process';

const root = new URL('../../../', import.meta.url).pathname;

/** Starts `node dist/src/main.js` with the given env and resolves once it logs that it is ready. */
export function startDemo(env: Record<string, string>): Promise<{ child: ChildProcess; log: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['dist/src/main.js'], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const onData = (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready: http://')) resolve({ child, log: () => out });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`demo (${env.AGENTS}) exited with ${code}:\n${out}`)));
  });
}
