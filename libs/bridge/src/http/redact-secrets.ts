/**
 * How much of a text from outside (an upstream error body, an MCP error message, a child's stderr line, a
 * homeserver error) a bridge passes on by default: longer texts are cut to this many UTF-16 code units and get `…`.
 */
export const MAX_OUTSIDE_TEXT_CHARS = 1_000;

/** What a redacted value becomes. */
export const REDACTED = '[REDACTED]';

/**
 * How far past the cut the redaction still looks, so that a secret straddling the cut is recognised (and removed)
 * as a whole rather than leaving its first characters behind.
 */
const LOOKAHEAD_CHARS = 256;

// A key that looks secret: `api_key`, `X-Auth-Token`, `password`, `client_secret`, `credentials`, … Tested on one
// run of word characters at a time (an alternation of literals: linear in the run).
const SECRET_KEY_WORD = /key|token|secret|passw(?:or)?d|credential|auth/i;

/**
 * `text` made safe to hand to a caller or a log: first cut to `maxLength` characters (plus `…` when cut), then
 * with secrets removed. Removed are: each of `secrets` (exact values, e.g. the configured token), the credential
 * after `Bearer` / `Basic`, and the value of every `key=value`, `key: value`, `"key": "value"` pair whose key
 * looks secret (contains key, token, secret, password, passwd, credential or auth).
 *
 * Runs in time linear in `min(text.length, maxLength)`: one left-to-right scan over runs of word characters,
 * whose regexes are anchored and have no nested quantifiers (no catastrophic backtracking), so a hostile peer's
 * text (`key-key-key-…` of any length) cannot block the event loop: 1 MB of it takes tens of milliseconds.
 *
 * @param maxLength the bound (default MAX_OUTSIDE_TEXT_CHARS = 1,000); `Infinity` keeps the whole text.
 * @param secrets exact values to remove wherever they occur (values shorter than 4 characters are ignored).
 */
export function redactSecrets(text: string, maxLength: number = MAX_OUTSIDE_TEXT_CHARS, secrets: readonly string[] = []): string {
  const s = String(text);
  const bound = Math.max(0, Math.floor(maxLength));
  const longest = secrets.reduce((m, v) => Math.max(m, v.length), 0);
  // Look a little past the cut (bounded), so a secret cut in half is still seen whole and removed.
  const window = bound === Infinity ? s : cutAt(s, bound + LOOKAHEAD_CHARS + longest);
  let out = window;
  for (const v of [...secrets].sort((a, b) => b.length - a.length)) {
    if (v.length >= 4 && out.includes(v)) out = out.split(v).join(REDACTED);
  }
  out = scanAndRedact(out);
  if (out.length > bound) return `${cutAt(out, bound)}…`;
  return window.length < s.length ? `${out}…` : out;
}

/** The first `n` code units of `s`, never splitting a surrogate pair. */
function cutAt(s: string, n: number): string {
  if (s.length <= n) return s;
  const last = s.charCodeAt(n - 1);
  return s.slice(0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

// The scan's pieces, each anchored (sticky) or global without nested quantifiers: a failed match backtracks over
// at most one run of whitespace, so every character is looked at a bounded number of times.
const WORD_RUN = /[A-Za-z0-9_-]+/g;
// After a secret-looking key: an optional closing quote, `=` or `:`, an optional opening quote, the value.
const PAIR_TAIL = /["']?\s*[=:]\s*["']?([^\s"'&,;]*)/y;
// After `Bearer` / `Basic`: whitespace, then the credential (RFC 6750 token68 characters).
const CREDENTIAL_TAIL = /\s+([A-Za-z0-9\-._~+/=]*)/y;
const SCHEME = /^(?:bearer|basic)$/i;

/**
 * One pass over `s`: each maximal run of word characters is looked at once; a `Bearer`/`Basic` run followed by
 * a credential, or a secret-looking key followed by a separator and a value, has the credential or value replaced.
 * Each lookahead starts at the run's end and the scan resumes there or past what was replaced: O(length).
 */
function scanAndRedact(s: string): string {
  const parts: string[] = [];
  let copied = 0; // s[copied..) is still to be copied
  WORD_RUN.lastIndex = 0;
  for (let m = WORD_RUN.exec(s); m !== null; m = WORD_RUN.exec(s)) {
    const run = m[0];
    const end = m.index + run.length;
    if (run.length <= 6 && SCHEME.test(run)) {
      CREDENTIAL_TAIL.lastIndex = end;
      const c = CREDENTIAL_TAIL.exec(s);
      if (c && c[1].length >= 4) {
        parts.push(s.slice(copied, CREDENTIAL_TAIL.lastIndex - c[1].length), REDACTED);
        copied = WORD_RUN.lastIndex = CREDENTIAL_TAIL.lastIndex;
      }
    } else if (SECRET_KEY_WORD.test(run)) {
      PAIR_TAIL.lastIndex = end;
      const p = PAIR_TAIL.exec(s);
      const value = p?.[1] ?? '';
      // `Authorization: Bearer xyz`: the Bearer rule takes it from the next run, keeping the scheme readable.
      const scheme = value.length <= 6 && SCHEME.test(value) && PAIR_TAIL.lastIndex < s.length;
      if (value.length >= 3 && !scheme) {
        parts.push(s.slice(copied, PAIR_TAIL.lastIndex - value.length), REDACTED);
        copied = WORD_RUN.lastIndex = PAIR_TAIL.lastIndex;
      }
    }
  }
  if (copied === 0) return s;
  parts.push(s.slice(copied));
  return parts.join('');
}
