/**
 * The last token of the inbox a discovery question is answered on (`<inbox>.srv`): generated NATS permissions let
 * services answer there, and only there, in other agents' inboxes (security/agent-permissions.ts).
 */
export const DISCOVERY_INBOX_TOKEN = 'srv';

/** A fresh inbox for the answers to one discovery question. */
export function discoveryInbox(newInbox: () => string): string {
  return `${newInbox()}.${DISCOVERY_INBOX_TOKEN}`;
}
