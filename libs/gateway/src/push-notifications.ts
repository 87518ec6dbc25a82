import { createHmac } from 'node:crypto';
import { BusError, ErrorCodes } from '@openagentio/nestjs';

/**
 * Task webhooks (A2A push notifications, and `X-Callback-Url` on the task routes): where they may point, how
 * deliveries are retried and signed (docs/tasks.md, "Callbacks and push notifications").
 */
export interface GatewayPushOptions {
  /**
   * Where webhooks may point: absolute http(s) URL prefixes (`https://hooks.example.com/a2a/`); a webhook matches an
   * entry with the same scheme, host and port whose path is its path or a folder above it (`/a2a` covers `/a2a/x`,
   * not `/a2ax`). Checked when a webhook is set and
   * again before every POST. Nothing by default: every webhook is refused.
   */
  allowUrls?: string[];
  /** POSTs per webhook before it is given up. Default 5. */
  attempts?: number;
  /** Wait before the second POST (ms), doubled for each further one up to `maxDelayMs`. Default 1 000. */
  initialDelayMs?: number;
  /** The longest wait between POSTs (ms). Default 60 000. */
  maxDelayMs?: number;
  /** Time limit of one POST (ms). Default 10 000. */
  timeoutMs?: number;
  /** Ended tasks whose webhooks this replica delivers at once. Default 4. */
  concurrency?: number;
  /**
   * Signs every POST: `X-Acp-Timestamp: <unix seconds>` and `X-Acp-Signature: sha256=<hex HMAC-SHA256 of
   * "<timestamp>.<body>" with this key>`. Default: unsigned (the webhook's token is the receiver's check).
   */
  signingSecret?: string;
  /** This replica takes webhook deliveries (every replica with it on shares them). Default true. */
  deliver?: boolean;
}

export interface ResolvedPushOptions extends Required<Omit<GatewayPushOptions, 'signingSecret' | 'allowUrls'>> {
  allowUrls: URL[];
  signingSecret?: string;
}

export function resolvePushOptions(o: GatewayPushOptions = {}): ResolvedPushOptions {
  const allowUrls = (o.allowUrls ?? []).map((entry) => {
    let u: URL | undefined;
    try {
      u = new URL(entry);
    } catch {
      u = undefined;
    }
    if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
      throw new Error(`GatewayModule: pushNotifications.allowUrls holds ${JSON.stringify(entry)}; each entry is an absolute http(s) URL`);
    }
    return u;
  });
  const positive = (name: string, v: number | undefined, d: number) => {
    const n = v ?? d;
    if (!Number.isFinite(n) || n <= 0) throw new Error(`GatewayModule: pushNotifications.${name} must be a positive number`);
    return n;
  };
  return {
    allowUrls,
    attempts: Math.floor(positive('attempts', o.attempts, 5)),
    initialDelayMs: positive('initialDelayMs', o.initialDelayMs, 1_000),
    maxDelayMs: positive('maxDelayMs', o.maxDelayMs, 60_000),
    timeoutMs: positive('timeoutMs', o.timeoutMs, 10_000),
    concurrency: Math.floor(positive('concurrency', o.concurrency, 4)),
    signingSecret: o.signingSecret,
    deliver: o.deliver ?? true,
  };
}

/** Why `url` may not receive notifications, or undefined when the allow list covers it. */
export function webhookRefusal(url: string, allow: readonly URL[]): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'it is not an absolute URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'it is not http or https';
  if (u.username || u.password) return "it carries credentials (use the config's token or authentication)";
  const covered = allow.some(
    (a) => a.protocol === u.protocol && a.hostname === u.hostname && a.port === u.port && underPath(u.pathname, a.pathname),
  );
  if (covered) return undefined;
  return allow.length === 0
    ? 'GatewayModule option pushNotifications.allowUrls is empty (nothing is allowed by default)'
    : 'GatewayModule option pushNotifications.allowUrls does not cover it';
}

/** `path` is `prefix` or below it: `/hooks` covers `/hooks` and `/hooks/x`, not `/hooksevil` (paths come normalised, `..` resolved). */
function underPath(path: string, prefix: string): boolean {
  if (prefix.endsWith('/')) return path.startsWith(prefix);
  return path === prefix || path.startsWith(`${prefix}/`);
}

/** INVALID_REQUEST naming the option when the allow list does not cover `url`. */
export function assertWebhookAllowed(url: string, allow: readonly URL[]): void {
  const why = webhookRefusal(url, allow);
  if (why) throw new BusError(ErrorCodes.INVALID_REQUEST, `push notification URL ${JSON.stringify(clipUrl(url))} is not allowed: ${why}`);
}

/** The signature headers of a body (see `signingSecret`). */
export function signatureHeaders(secret: string, body: string, now = Date.now()): Record<string, string> {
  const timestamp = String(Math.floor(now / 1000));
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return { 'x-acp-timestamp': timestamp, 'x-acp-signature': `sha256=${mac}` };
}

/** A URL for a message or a log line: at most 200 characters, without its query (tokens live there). */
export function clipUrl(url: string): string {
  const bare = url.split(/[?#]/)[0];
  return bare.length > 200 ? `${bare.slice(0, 200)}…` : bare;
}
