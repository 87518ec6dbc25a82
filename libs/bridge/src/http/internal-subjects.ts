/** What an internal subject becomes in a text shown outside the bus. */
export const INTERNAL_SUBJECT = '(internal subject)';

// A reply inbox subject (`_INBOX.<random>…`): one quantifier, linear; it stops at white space, JSON punctuation and
// a backslash (so in JSON text it never eats half of an escape).
const INBOX_SUBJECT = /_INBOX[^\s"',;)\]}\\]*/g;

/**
 * `text` without the reply-inbox subjects it names (`_INBOX.…`): they are internal to the bus, and a client outside
 * it (an MCP client, an HTTP caller) learns nothing from them but where to listen.
 */
export function hideInternalSubjects(text: string): string {
  return text.includes('_INBOX') ? text.replace(INBOX_SUBJECT, INTERNAL_SUBJECT) : text;
}
