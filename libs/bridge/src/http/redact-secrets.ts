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
 * Runs in time linear in `min(text.length, maxLength)`: one left-to-right scan, no backtracking regex, so a
 * hostile peer's text (`key-key-key-…` of any length) cannot block the event loop.
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

function isWordCode(c: number): boolean {
  // A-Z a-z 0-9 _ -
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || (c >= 48 && c <= 57) || c === 95 || c === 45;
}

function isSpaceCode(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13 || c === 12 || c === 11 || c === 0xa0;
}

/** A character a pair's value may hold: anything but whitespace, `"`, `'`, `&`, `,`, `;`. */
function isValueCode(c: number): boolean {
  return !isSpaceCode(c) && c !== 34 && c !== 39 && c !== 38 && c !== 44 && c !== 59;
}

/** A character of a Bearer / Basic credential (RFC 6750 token68). */
function isCredentialCode(c: number): boolean {
  return isWordCode(c) || c === 46 || c === 126 || c === 43 || c === 47 || c === 61;
}

/**
 * One pass over `s`: each maximal run of word characters is looked at once; a `Bearer`/`Basic` run followed by
 * a credential, or a secret-looking key followed by a separator and a value, has the credential or value replaced.
 * Every lookahead only moves forward past the run, and the scan resumes at or after the run's end: O(length).
 */
function scanAndRedact(s: string): string {
  const n = s.length;
  let out = '';
  let copied = 0; // s[copied..i) is still to be copied to out
  let i = 0;
  while (i < n) {
    if (!isWordCode(s.charCodeAt(i))) {
      i++;
      continue;
    }
    let j = i;
    while (j < n && isWordCode(s.charCodeAt(j))) j++;
    const run = s.slice(i, j);
    const lower = run.length <= 6 ? run.toLowerCase() : '';
    if (lower === 'bearer' || lower === 'basic') {
      let k = j;
      while (k < n && isSpaceCode(s.charCodeAt(k))) k++;
      let e = k;
      while (e < n && isCredentialCode(s.charCodeAt(e))) e++;
      if (k > j && e - k >= 4) {
        out += `${s.slice(copied, k)}${REDACTED}`;
        copied = i = e;
        continue;
      }
    } else if (SECRET_KEY_WORD.test(run)) {
      let k = j;
      if (k < n && (s.charCodeAt(k) === 34 || s.charCodeAt(k) === 39)) k++; // closing quote of a JSON key
      while (k < n && isSpaceCode(s.charCodeAt(k))) k++;
      const sep = k < n ? s.charCodeAt(k) : 0;
      if (sep === 61 || sep === 58) {
        k++;
        while (k < n && isSpaceCode(s.charCodeAt(k))) k++;
        if (k < n && (s.charCodeAt(k) === 34 || s.charCodeAt(k) === 39)) k++; // opening quote of the value
        let e = k;
        while (e < n && isValueCode(s.charCodeAt(e))) e++;
        const value = s.slice(k, e).toLowerCase();
        // `Authorization: Bearer xyz`: the Bearer rule takes it from here, keeping the scheme readable.
        const scheme = (value === 'bearer' || value === 'basic') && e < n && isSpaceCode(s.charCodeAt(e));
        if (e - k >= 3 && !scheme) {
          out += `${s.slice(copied, k)}${REDACTED}`;
          copied = i = e;
          continue;
        }
      }
    }
    i = j;
  }
  return copied === 0 ? s : out + s.slice(copied);
}
