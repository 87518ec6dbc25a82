/**
 * The timer of the liveness checks (a responder watching its callers, a caller watching its streams'
 * responders): calls `tick(now, stalled)` every `every` ms, without keeping the process alive. `stalled` is true
 * when a tick comes more than two intervals after the last one: this process was blocked, so a peer's silence
 * may be its own stall and must not be held against the peer.
 */
export function livenessTicker(every: number, tick: (now: number, stalled: boolean) => void): NodeJS.Timeout {
  let lastTick = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const stalled = now - lastTick > 2 * every;
    lastTick = now;
    tick(now, stalled);
  }, every);
  timer.unref();
  return timer;
}
