/** Options of `ConsoleModule.forRoot()` (docs/console.md). */
export interface ConsoleModuleOptions {
  /** Where the console is mounted (the page at `/<path>/`, its API under `/<path>/api/`). Default `console`. */
  path?: string;
  /** How often the console asks every bus for its STATS (one `$SRV.STATS` broadcast), in ms. Default 2 000. */
  refreshMs?: number;
  /** How much traffic history the console keeps and shows, in ms. Default 300 000 (five minutes). */
  windowMs?: number;
  /** An instance that has not answered for this long is dropped from the topology (it fades first). Default 60 000. */
  forgetAfterMs?: number;
  /**
   * Link each conversation to its trace in an OTLP backend's UI: `{traceId}` is replaced
   * (`http://localhost:16686/trace/{traceId}`). Default: no link.
   */
  traceUrl?: string;
}

export interface ResolvedConsoleOptions {
  path: string;
  refreshMs: number;
  windowMs: number;
  forgetAfterMs: number;
  traceUrl?: string;
}

export const CONSOLE_OPTIONS = Symbol('CONSOLE_OPTIONS');

export function resolveConsoleOptions(o: ConsoleModuleOptions = {}): ResolvedConsoleOptions {
  const path = (o.path ?? 'console').replace(/^\/+|\/+$/g, '');
  if (!/^[A-Za-z0-9_\-/.]+$/.test(path)) throw new Error(`ConsoleModule: path "${o.path}" must be letters, digits, "_", "-", "." and "/"`);
  const ms = (name: string, v: number | undefined, def: number, min: number) => {
    const n = v ?? def;
    if (!Number.isFinite(n) || n < min) throw new Error(`ConsoleModule: ${name} must be a number of ms, ${min} or more (got ${v})`);
    return n;
  };
  const refreshMs = ms('refreshMs', o.refreshMs, 2_000, 250);
  return {
    path,
    refreshMs,
    windowMs: ms('windowMs', o.windowMs, 300_000, refreshMs * 2),
    forgetAfterMs: ms('forgetAfterMs', o.forgetAfterMs, 60_000, refreshMs * 2),
    traceUrl: o.traceUrl,
  };
}
