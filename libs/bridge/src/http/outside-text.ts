import { MAX_OUTSIDE_TEXT_CHARS, redactSecrets } from './redact-secrets.js';

// A NATS reply subject names this process's inbox: of no use to a caller, and a handle to reach the process.
const INTERNAL_SUBJECT = /_INBOX\.[\w.-]*/g;

/**
 * A text that came from outside (an upstream's error, a homeserver's answer) or from the bus, made fit to show a
 * caller or a room: cut to `maxLength` characters (default MAX_OUTSIDE_TEXT_CHARS), secrets removed (`secrets`
 * exactly, plus anything redactSecrets recognises), reply subjects (`_INBOX.…`) replaced. Linear in the kept length.
 */
export function outsideText(text: string, maxLength: number = MAX_OUTSIDE_TEXT_CHARS, secrets: readonly string[] = []): string {
  const redacted = redactSecrets(text, maxLength, secrets);
  if (!redacted.includes('_INBOX.')) return redacted;
  // The replacement may be longer than a short subject: the result is cut to the bound again.
  const hidden = redacted.replace(INTERNAL_SUBJECT, '(a reply subject)');
  return hidden.length <= maxLength + 1 ? hidden : `${hidden.slice(0, maxLength)}…`;
}
