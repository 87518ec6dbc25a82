import { join, relative } from 'node:path';
import { PEER_SCRIPTS, PythonPeer, peerPython } from '../../test/support/python-peer.js';
import { UpstreamPeerBench } from './upstream-peer.js';
import type { BusPair } from '../stacks/bus.js';

/**
 * The upstream OpenAgentIO Python SDK (openagentio 0.3.0 from PyPI, the venv of scripts/install-python-peer.sh) as a
 * bench peer: bench/python/py_bench.py as a server (`pybench.echo`, `pybench.stream`) and as a caller (asyncio; 64
 * concurrent tasks for the in-flight figure). Routes `pypeer.ours`, `pypeer.python`, `pypeer.ours→python`,
 * `pypeer.python→ours` (bench/suites/upstream-peer.ts).
 */
const SCRIPT = relative(PEER_SCRIPTS, join(new URL('../../../', import.meta.url).pathname, 'bench/python/py_bench.py'));

export const PythonPeerBench = {
  /** Starts the two Python processes; throws when the venv cannot be installed or a process does not start. */
  async start(natsUrl: string, pair: BusPair, log: (s: string) => void): Promise<{ bench: UpstreamPeerBench; python: string }> {
    const python = await peerPython();
    const bench = await UpstreamPeerBench.start(
      {
        prefix: 'pypeer',
        label: 'python',
        echo: 'pybench.echo',
        stream: 'pybench.stream',
        start: (role) => PythonPeer.start(SCRIPT, natsUrl, ['--role', role], { readyTimeoutMs: 30_000 }),
      },
      pair,
    );
    log(`python: ${python} serving pybench.echo and pybench.stream, and calling, on ${natsUrl}`);
    return { bench, python };
  },
};
