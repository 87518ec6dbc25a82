import { GoPeer, goPeerDir } from '../../test/support/go-peer.js';
import { UpstreamPeerBench } from './upstream-peer.js';
import type { BusPair } from '../stacks/bus.js';
import { startSplitBus } from '../stacks/split-bus.js';

/**
 * The upstream OpenAgentIO Go runtime (v0.3.0, ../shared/peers/openagentio-go) as a bench peer: our Go program
 * test/interop/go/bench (built by scripts/install-go-peer.sh) as a server (`gobench.echo`, `gobench.stream`) and as a
 * caller (64 goroutines for the in-flight figure). Routes `gopeer.ours`, `gopeer.go`, `gopeer.ours→go`,
 * `gopeer.go→ours` and `gopeer.ours-2p` (ours → ours in two processes; bench/suites/upstream-peer.ts).
 */
export const GoPeerBench = {
  /** Builds (first time) and starts the two Go processes; throws when Go or the build is missing or a process does not start. */
  async start(natsUrl: string, pair: BusPair, log: (s: string) => void): Promise<{ bench: UpstreamPeerBench; dir: string }> {
    const dir = await goPeerDir();
    // Go → Go runs caller and responder in two processes: so does the route ours-2p (ours → ours).
    const split = await startSplitBus(natsUrl, 'gosplit');
    let bench: UpstreamPeerBench;
    try {
      bench = await UpstreamPeerBench.start(
        {
          prefix: 'gopeer',
          label: 'go',
          echo: 'gobench.echo',
          stream: 'gobench.stream',
          start: (role) => GoPeer.start('bench', natsUrl, ['--role', role]),
          split,
        },
        pair,
      );
    } catch (err) {
      await split.close();
      throw err;
    }
    log(`go: ${dir}/bench serving gobench.echo and gobench.stream, and calling, on ${natsUrl}`);
    return { bench, dir };
  },
};
