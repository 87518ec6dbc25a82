import { BusError } from '../../errors/bus-error.js';
import { ErrorCodes } from '../../errors/error-codes.js';

/** Schemes the Node NATS client connects with (a bare `host:port` is nats://). */
const SCHEMES = new Set(['nats', 'tls']);
const SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i;
/** A scheme written without its colon or with one slash: `nats//host`, `nats:/host`, `tls//host`. */
const BROKEN_SCHEME = /^(nats|tls)(\/\/|:\/(?!\/))/i;
/** host, host:port, [v6]:port, with optional user:pass@. */
const HOST_PORT = /^([^@/\s]+@)?(\[[0-9a-f:.]+\]|[a-z0-9._-]+)(:\d{1,5})?\/?$/i;

/** The URL as it may appear in an error: credentials replaced. */
function shown(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)?[^@/\s]+@/i, (_m, scheme: string | undefined) => `${scheme ?? ''}***@`);
}

/**
 * Checks each NATS server URL before any connection is tried, so a typo is an error naming it at start-up rather
 * than a silent retry loop (an `http://` URL was accepted and retried forever).
 */
export function checkNatsServers(servers: readonly string[]): void {
  for (const raw of servers) {
    const url = raw.trim();
    const broken = BROKEN_SCHEME.exec(url);
    if (broken) {
      const scheme = broken[1].toLowerCase();
      throw new BusError(
        ErrorCodes.INVALID_REQUEST,
        `NATS server "${shown(url)}" is not a URL: the scheme is written "${scheme}://" (did you mean "${scheme}://${url.slice(broken[0].length)}"?)`,
      );
    }
    const scheme = SCHEME.exec(url);
    if (scheme && !SCHEMES.has(scheme[1].toLowerCase())) {
      throw new BusError(
        ErrorCodes.INVALID_REQUEST,
        `NATS server "${shown(url)}" has the scheme "${scheme[1]}://", which NATS does not speak: use nats://host:4222 (or tls://host:4222)`,
      );
    }
    const rest = scheme ? url.slice(scheme[0].length) : url;
    if (!HOST_PORT.test(rest)) {
      throw new BusError(
        ErrorCodes.INVALID_REQUEST,
        `NATS server "${shown(url)}" is not a NATS URL: expected nats://host:port, tls://host:port or host:port`,
      );
    }
    const port = /:(\d+)\/?$/.exec(rest)?.[1];
    if (port !== undefined && (Number(port) < 1 || Number(port) > 65535)) {
      throw new BusError(ErrorCodes.INVALID_REQUEST, `NATS server "${shown(url)}": port ${port} is out of range`);
    }
  }
}
