import { cachedInstall } from './cached-install.js';
import { join } from 'node:path';
import { PeerProcess, type PeerLine } from './peer-process.js';

export type { PeerLine };

/**
 * A peer process running the upstream OpenAgentIO Python SDK (openagentio 0.3.0 from PyPI) for interop tests: the
 * venv's python running one of the scripts in test/interop/python/ against a NATS URL. Ready when the script prints
 * its `{"type":"ready"}` line; every JSON line it prints is kept in `lines` (envelopes as the peer read them), and
 * `waitFor` awaits one. The venv is installed on first use by scripts/install-python-peer.sh.
 *
 * @example
 * const server = await PythonPeer.start('py_server.py', nats.url, ['--tenant', 'acme']);
 * after(() => server.stop());
 * const req = await server.waitFor((l) => l.type === 'request' && l.target === 'py.echo');
 */
export interface PythonPeerOptions {
  /** How long the start may take before it fails (default 20 s: the first start installs the venv). */
  readyTimeoutMs?: number;
  /** Extra environment for the python process. */
  env?: NodeJS.ProcessEnv;
}

const ROOT = new URL('../../../', import.meta.url).pathname;
const INSTALLER = join(ROOT, 'scripts/install-python-peer.sh');
/** The peer scripts (read from the source tree: they are not compiled). */
export const PEER_SCRIPTS = join(ROOT, 'test/interop/python');

/**
 * The venv's python executable: `OPENAGENTIO_PYTHON` if set, else what scripts/install-python-peer.sh prints (it
 * returns at once when the venv is there; the first install takes a few seconds and logs to our stderr).
 */
export function peerPython(): Promise<string> {
  return cachedInstall(INSTALLER, 'OPENAGENTIO_PYTHON');
}

export class PythonPeer extends PeerProcess {
  /** Starts `script` (a file in test/interop/python/) with `python script natsUrl ...args`; resolves once it is ready. */
  static async start(script: string, natsUrl: string, args: string[] = [], options: PythonPeerOptions = {}): Promise<PythonPeer> {
    const exe = await peerPython();
    return PeerProcess.launch(
      (proc) => new PythonPeer(script, proc),
      script,
      [exe, join(PEER_SCRIPTS, script), natsUrl, ...args],
      PEER_SCRIPTS,
      // No __pycache__ in the source tree; unbuffered output as a second guard (the scripts flush every line).
      { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...options.env },
      options.readyTimeoutMs ?? 20_000,
    );
  }
}
