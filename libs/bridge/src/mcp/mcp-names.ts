import { createHash } from 'node:crypto';
import { MAX_OUTSIDE_TEXT_CHARS, redactSecrets } from '../http/redact-secrets.js';

const SAFE_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * Maps an MCP tool name to one bus target token, deterministically and independently of the other tools:
 * - a name made only of `A-Z a-z 0-9 _ -` is kept as it is (`get-sum` → `get-sum`);
 * - any other name has each other character (`.`, `/`, `:`, space, `*`, `>`, non-ASCII, …) replaced by `_`,
 *   followed by `~` and the first 8 hex digits of the SHA-256 of the original name
 *   (`admin.tools/list` → `admin_tools_list~1b2c3d4e`), so two names that differ only in such characters
 *   never share a target. A dot is replaced too: it would split the tool into two subject tokens.
 * - a name longer than 128 characters is cut to 64 and gets the same hash suffix (targets have a 256 limit).
 */
export function toolTargetToken(toolName: string): string {
  if (SAFE_TOKEN.test(toolName) && toolName.length <= 128) return toolName;
  const base =
    [...toolName]
      .map((ch) => (/[A-Za-z0-9_-]/.test(ch) ? ch : '_'))
      .join('')
      .slice(0, 64) || '_';
  const hash = createHash('sha256').update(toolName, 'utf8').digest('hex').slice(0, 8);
  return `${base}~${hash}`;
}

/**
 * `*` matches any run of characters; everything else is literal. The name comes from the MCP server, so this is no
 * regex (`a*a*a*…b` against a long name backtracks polynomially): the classic two-pointer wildcard match, which
 * only ever resumes from the last `*`: O(pattern × name) at worst, linear in the name for a given pattern.
 */
export function globMatches(pattern: string, name: string): boolean {
  if (!pattern.includes('*')) return pattern === name;
  let p = 0;
  let n = 0;
  let star = -1; // position in pattern after the last `*`
  let mark = 0; // position in name where that `*` match resumes
  while (n < name.length) {
    if (p < pattern.length && pattern[p] === '*') {
      star = ++p;
      mark = n;
    } else if (p < pattern.length && pattern[p] === name[n]) {
      p++;
      n++;
    } else if (star !== -1) {
      p = star;
      n = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.length && pattern[p] === '*') p++;
  return p === pattern.length;
}

/** Whether a tool passes the bridge's allow-list (when given) and is not on its deny-list. */
export function toolAllowed(name: string, allow: readonly string[] | undefined, deny: readonly string[] | undefined): boolean {
  if (allow && allow.length > 0 && !allow.some((p) => globMatches(p, name))) return false;
  if (deny && deny.some((p) => globMatches(p, name))) return false;
  return true;
}

const SECRET_KEY = /(key|token|secret|passw(or)?d|auth|credential|api[-_]?key|session)/i;

/**
 * Makes text from the MCP server (error messages, tool error text, stderr lines) safe for the bus and the logs:
 * cut to `maxChars` (plus `…`), then with the configured secret values, `Bearer <token>` / `Basic <creds>` and
 * secret-looking `key=value` / `"key": "value"` pairs removed. Linear in the (cut) text: see `redactSecrets`.
 */
export class Redactor {
  private readonly secrets: string[];

  constructor(
    secrets: Iterable<string | undefined>,
    private readonly maxChars: number = MAX_OUTSIDE_TEXT_CHARS,
  ) {
    this.secrets = [...new Set([...secrets].filter((s): s is string => typeof s === 'string' && s.length >= 4))].sort(
      (a, b) => b.length - a.length,
    );
  }

  /** Secret values of a config: the token, every header value, env values under secret-looking keys. */
  static forConfig(
    cfg: { token?: string; headers?: Record<string, string>; env?: Record<string, string> },
    maxChars: number = MAX_OUTSIDE_TEXT_CHARS,
  ): Redactor {
    const out: string[] = [];
    if (cfg.token) out.push(cfg.token);
    for (const [k, v] of Object.entries(cfg.headers ?? {})) {
      if (/^(content-type|accept|user-agent)$/i.test(k)) continue;
      out.push(v.replace(/^(Bearer|Basic)\s+/i, ''));
      out.push(v);
    }
    for (const [k, v] of Object.entries(cfg.env ?? {})) if (SECRET_KEY.test(k) && v.length >= 6) out.push(v);
    return new Redactor(out, maxChars);
  }

  redact(text: string): string {
    return redactSecrets(text, this.maxChars, this.secrets);
  }

  /** Redacts every string inside a JSON value (returns a copy). */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((v) => this.redactDeep(v)) as T;
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = this.redactDeep(v);
      return out as T;
    }
    return value;
  }
}
