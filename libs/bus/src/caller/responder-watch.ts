/**
 * A stream's watch on its responder, when the `started` frame said how often the responder probes
 * (`acp.liveness`). A responder that probes every N ms sends a frame or a probe at least every 2N; after 3N of
 * neither it is taken as gone (its process died, or its connection). Counting frames here keeps the per-frame path
 * free of clock reads.
 */
export class ResponderWatch {
  private pinged = false;

  constructor(
    private readonly everyMs: number,
    private frames: number,
    private quietSince: number,
  ) {}

  /** A liveness probe from the responder arrived. */
  heard(): void {
    this.pinged = true;
  }

  /**
   * Called every livenessInterval with the frames received so far; returns how long the responder has been silent
   * when that is over 3N, else undefined. `stalled`: this process was blocked since the last check, so the quiet
   * time restarts instead of counting against the responder.
   */
  silentFor(now: number, frames: number, stalled: boolean): number | undefined {
    if (stalled || this.pinged || this.frames !== frames) {
      this.pinged = false;
      this.frames = frames;
      this.quietSince = now;
      return undefined;
    }
    const quietMs = now - this.quietSince;
    return quietMs > 3 * this.everyMs ? quietMs : undefined;
  }
}
