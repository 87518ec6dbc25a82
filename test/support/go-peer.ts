import { join } from 'node:path';
import { cachedInstall } from './cached-install.js';
import { PeerProcess } from './peer-process.js';

const ROOT = new URL('../../../', import.meta.url).pathname;
const INSTALLER = join(ROOT, 'scripts/install-go-peer.sh');

/** The Go peer programs (test/interop/go/), each a `main` package built by scripts/install-go-peer.sh. */
export type GoProgram = 'responder' | 'caller' | 'bench';

/**
 * The directory of the Go peer executables: `OPENAGENTIO_GO_PEER` if set, else what scripts/install-go-peer.sh
 * prints (at once when the build of these sources is cached; the first build takes a minute and logs to our stderr).
 */
export function goPeerDir(): Promise<string> {
  return cachedInstall(INSTALLER, 'OPENAGENTIO_GO_PEER');
}

/**
 * A peer process running the upstream OpenAgentIO Go runtime (v0.3.0, ../shared/peers/openagentio-go) through one
 * of our small Go programs in test/interop/go/ (`responder`, `caller`, `bench`), started as `program natsUrl ...args`.
 *
 * @example
 * const server = await GoPeer.start('responder', nats.url, ['--tenant', 'acme']);
 * after(() => server.stop());
 */
export class GoPeer extends PeerProcess {
  static async start(program: GoProgram, natsUrl: string, args: string[] = [], readyTimeoutMs = 30_000): Promise<GoPeer> {
    const dir = await goPeerDir();
    return PeerProcess.launch(
      (proc) => new GoPeer(program, proc),
      program,
      [join(dir, program), natsUrl, ...args],
      dir,
      process.env,
      readyTimeoutMs,
    );
  }
}
