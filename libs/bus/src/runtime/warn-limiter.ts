import type { BusLogger } from './bus-logger.js';

/** Longest warning line written; the rest of a hostile message's text is cut. */
const MAX_LINE = 500;

/**
 * Rate-limits the warnings a flood of bad messages would cause: at most `perWindow` lines per window; the lines
 * past that are counted and reported in one line when the next window begins. The counters (`stats`) still see
 * every message.
 */
export class WarnLimiter {
  private windowStart = 0;
  private written = 0;
  private suppressed = 0;

  constructor(
    private readonly logger: BusLogger,
    private readonly perWindow = 10,
    private readonly windowMs = 10_000,
  ) {}

  warn(message: string): void {
    const now = Date.now();
    if (now - this.windowStart >= this.windowMs) {
      if (this.suppressed > 0) {
        this.logger.warn(`${this.suppressed} more invalid message(s) in the previous ${this.windowMs / 1000} s were not logged`);
      }
      this.windowStart = now;
      this.written = 0;
      this.suppressed = 0;
    }
    if (this.written >= this.perWindow) {
      this.suppressed++;
      return;
    }
    this.written++;
    this.logger.warn(message.length > MAX_LINE ? `${message.slice(0, MAX_LINE)}… (${message.length} characters)` : message);
  }
}
