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
  return redacted.includes('_INBOX.') ? redacted.replace(INTERNAL_SUBJECT, '(a reply subject)') : redacted;
}
