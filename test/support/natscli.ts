import { cachedInstall } from './cached-install.js';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The `nats` command-line tool (natscli v0.5.0) for tests: built on first use by scripts/install-natscli.sh into a
 * directory cached outside the repository (`NATS_CLI` names a binary to use instead), and run against a test
 * server with `-s <url>` and an empty configuration home, so no user context of the machine takes part.
 *
 * @example
 * const services = await natsJson<MicroInfo[]>(server.url, ['micro', 'ls']);
 */
const ROOT = new URL('../../../', import.meta.url).pathname;
const INSTALLER = join(ROOT, 'scripts/install-natscli.sh');
/** A config home of our own: natscli reads contexts from $XDG_CONFIG_HOME/nats. */
const CONFIG_HOME = mkdtempSync(join(tmpdir(), 'natscli-home-'));

/** The nats executable: `NATS_CLI` if set, else what the installer prints (a first build takes a minute or two). */
export function natsCli(): Promise<string> {
  return cachedInstall(INSTALLER, 'NATS_CLI');
}

/** Runs `nats <args> -s <url>` and resolves with its stdout; rejects with its stderr when it exits non-zero. */
export async function nats(url: string, args: string[], timeoutMs = 20_000): Promise<string> {
  const bin = await natsCli();
  return new Promise<string>((resolve, reject) => {
    execFile(
      bin,
      [...args, '-s', url],
      { timeout: timeoutMs, env: { ...process.env, XDG_CONFIG_HOME: CONFIG_HOME, NO_COLOR: '1' }, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`nats ${args.join(' ')} failed: ${err.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** `nats <args> --json -s <url>`, parsed. */
export async function natsJson<T>(url: string, args: string[]): Promise<T> {
  const out = await nats(url, [...args, '--json']);
  return JSON.parse(out) as T;
}
