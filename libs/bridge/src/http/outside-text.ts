import { hideInternalSubjects } from './internal-subjects.js';
import { MAX_OUTSIDE_TEXT_CHARS, redactSecrets } from './redact-secrets.js';

/**
 * A text that came from outside (an upstream's error, a homeserver's answer) or from the bus, made fit to show a
 * caller or a room: cut to `maxLength` characters (default MAX_OUTSIDE_TEXT_CHARS), secrets removed (`secrets`
 * exactly, plus anything redactSecrets recognises), reply subjects (`_INBOX.…`) replaced. Linear in the kept length.
 */
export function outsideText(text: string, maxLength: number = MAX_OUTSIDE_TEXT_CHARS, secrets: readonly string[] = []): string {
  const redacted = redactSecrets(text, maxLength, secrets);
  const hidden = hideInternalSubjects(redacted);
  // The replacement may be longer than a short subject: the result is cut to the bound again.
  return hidden.length <= maxLength + 1 ? hidden : `${hidden.slice(0, maxLength)}…`;
}
