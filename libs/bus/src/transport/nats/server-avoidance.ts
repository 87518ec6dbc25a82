import type { Server, ServerInfo } from '@nats-io/transport-node';

/** How long after losing a server the reconnect passes it over while others are in the pool (ms). */
export const AVOID_LOST_SERVER_MS = 15_000;

/**
 * Chooses where the connection goes after losing a server: anywhere but the server just lost, for a while. A
 * frozen server still accepts TCP connections (the kernel completes the handshake) and then never answers, so
 * nats.js's own choice, which may be that server again, costs a whole connect timeout before trying the next.
 */
export class ServerAvoidance {
  private current?: string;
  private epochInfo?: ServerInfo;
  private epochAt = 0;

  /** The connection is (again) up, to `server` (host:port). */
  connectedTo(server: string | undefined): void {
    if (server) this.current = server.replace(/^[a-z]+:\/\//i, '');
  }

  /**
   * nats.js's `reconnectToServer`, called before each dial: the pool's first server unless it is the one just lost
   * and another is there; null leaves the choice to nats.js. `info` is the last server's INFO: it changes only
   * when a connection succeeds, so a new one marks a new loss.
   */
  readonly pick = (pool: ReadonlyArray<Server>, info: ServerInfo | null): Server | null => {
    if (!info || !this.current) return null;
    if (info !== this.epochInfo) {
      this.epochInfo = info;
      this.epochAt = Date.now();
    }
    if (Date.now() - this.epochAt > AVOID_LOST_SERVER_MS) return null;
    const first = pool[0];
    if (!first || !this.isLost(first)) return null;
    return pool.find((s) => !this.isLost(s)) ?? null;
  };

  private isLost(s: Server): boolean {
    return s.listen === this.current || `${s.hostname}:${s.port}` === this.current;
  }
}
